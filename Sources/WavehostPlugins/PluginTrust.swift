import Synchronization

/// Which actor versions the operator trusts to run in the host process
/// (`isolation: inprocess`): exact SHA-256 hashes, given with `--trust HASH` or approved
/// with `wavehost plugins approve HASH` (the store's approvals, read when asked). Nothing
/// is trusted by default; a version not trusted runs only in a sandboxed worker.
public final class PluginTrust: Sendable {
    /// Reads the approved hashes (the store's); an error refuses, never trusts.
    public typealias Approvals = @Sendable () throws -> Set<String>

    private struct State {
        var hashes: Set<String>
        var approvals: Approvals?
    }
    private let state: Mutex<State>

    public init(_ hashes: some Sequence<String> = [String](), approvals: Approvals? = nil) {
        state = Mutex(State(hashes: Set(hashes.map { $0.lowercased() }), approvals: approvals))
    }

    /// Trusts one more hash.
    public func trust(_ sha256: String) {
        state.withLock { _ = $0.hashes.insert(sha256.lowercased()) }
    }

    /// Makes approvals (e.g. `{ try store.approvedHashes() }`) count as trust, read at each check.
    public func use(approvals: @escaping Approvals) {
        state.withLock { $0.approvals = approvals }
    }

    /// Whether `sha256` may run in the host process. Throws when the approvals cannot be read.
    public func trusts(_ sha256: String) throws(PluginError) -> Bool {
        let (hashes, approvals) = state.withLock { ($0.hashes, $0.approvals) }
        if hashes.contains(sha256) { return true }
        guard let approvals else { return false }
        do { return try approvals().contains(sha256) } catch {
            throw PluginError(.notTrusted, path: sha256, "cannot read the approved hashes (\(error)); "
                + "nothing runs in the host process until they can be read")
        }
    }

    /// Refuses in-process use of `sha256` unless it is trusted, saying how to trust it.
    public func check(_ sha256: String, actor: String, path: String) throws(PluginError) {
        let trusted: Bool
        do { trusted = try trusts(sha256) } catch {
            throw PluginError(.notTrusted, path: path, "actor \(actor) (sha256 \(sha256)): \(error.message)")
        }
        guard trusted else { throw Self.refusal(sha256, actor: actor, path: path) }
    }

    static func refusal(_ sha256: String, actor: String, path: String) -> PluginError {
        PluginError(.notTrusted, path: path, "actor \(actor) (sha256 \(sha256)) is not trusted to run in the host process "
            + "(isolation: inprocess): run it in a sandboxed worker (isolation: process, the default), or trust this exact "
            + "build with `wavehost plugins approve \(sha256)` or `--trust \(sha256)`")
    }
}
