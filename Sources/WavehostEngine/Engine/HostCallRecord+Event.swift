import WavehostSandbox
import WavehostStore

extension HostCallRecord {
    /// As an event of interaction `id`.
    public func event(interaction id: Int64) -> EventRecord {
        EventRecord(kind: "host_http_call", cause: error ?? "\(method) \(host)\(path) answered \(status)", interactionID: id,
                    payload: json.text)
    }
}
