import ActorABI
import WavehostJSON

#if canImport(Glibc)
import Glibc
#endif

/// Reads and checks a plugin's descriptor, touching only the bytes inside its
/// `struct_size`: a plugin built against an older, smaller descriptor keeps loading,
/// and fields it does not have read as absent.
struct DescriptorReader {
    let path: String
    let descriptor: UnsafePointer<wh_actor_descriptor>
    let abiVersion: UInt32

    /// A host-owned, full-size copy: fields past the plugin's `struct_size` are zero.
    private func copy() -> wh_actor_descriptor {
        var full = wh_actor_descriptor()
        let size = min(Int(descriptor.pointee.struct_size), MemoryLayout<wh_actor_descriptor>.size)
        withUnsafeMutableBytes(of: &full) { $0.copyMemory(from: UnsafeRawBufferPointer(start: descriptor, count: size)) }
        return full
    }

    /// Checks the descriptor and returns what it declares, with the host-owned copy
    /// of its fields (and function pointers) that the host keeps.
    func read() throws(PluginError) -> (ActorDescription, wh_actor_descriptor) {
        let declaredSize = Int(descriptor.pointee.struct_size)
        let minimumSize = Self.minimumSize
        guard declaredSize >= minimumSize else {
            throw PluginError(.descriptorTooSmall, path: path,
                "the descriptor declares \(declaredSize) bytes; ABI version \(abiVersion) needs at least \(minimumSize)")
        }
        let fields = copy()
        guard fields.abi_version == abiVersion else {
            throw malformed("asked for ABI version \(abiVersion), the descriptor says version \(fields.abi_version)")
        }
        guard let namePointer = fields.name else { throw malformed("name is NULL") }
        let name = String(cString: namePointer)
        guard Self.isValidName(name) else {
            throw malformed("name \"\(name)\" must be 1–64 characters of a–z, 0–9, '.', '_' or '-'")
        }
        guard let version = fields.version.map({ String(cString: $0) }), !version.isEmpty else {
            throw malformed("actor \(name): version is NULL or empty")
        }
        let kind = ActorDescription.Kind(declared: fields.kind)
        let capabilities = ActorDescription.Capabilities(rawValue: fields.capabilities)
        if let refusal = Self.refusal(of: capabilities) { throw malformed("actor \(name): \(refusal)") }
        let missing = [("create", fields.create == nil), ("invoke", fields.invoke == nil),
                       ("release", fields.release == nil), ("destroy", fields.destroy == nil)]
            .filter(\.1).map(\.0)
        guard missing.isEmpty else {
            throw malformed("actor \(name): NULL function pointer: \(missing.joined(separator: ", "))")
        }
        let description = ActorDescription(
            name: name, version: version, kind: kind, capabilities: capabilities,
            abiVersion: abiVersion, descriptorSize: declaredSize,
            summary: fields.description.map { String(cString: $0) },
            configSchema: try json(fields.config_schema, field: "config_schema"),
            inputSchema: try json(fields.input_schema, field: "input_schema"),
            outputSchema: try json(fields.output_schema, field: "output_schema"),
            examples: try examples(fields.examples)
        )
        return (description, fields)
    }

    /// Everything up to and including `destroy`.
    static var minimumSize: Int {
        MemoryLayout<wh_actor_descriptor>.offset(of: \.destroy)! + MemoryLayout<UnsafeRawPointer>.size
    }

    /// Why a plugin declaring `capabilities` cannot run here, or nil: a bit below 32 this host
    /// does not know changes what the host must do (bits 32–63 are hints it may ignore).
    static func refusal(of capabilities: ActorDescription.Capabilities) -> String? {
        let unknown = capabilities.unknownRequired
        guard !unknown.isEmpty else { return nil }
        return "unknown capability bits 0x\(String(unknown.rawValue, radix: 16)): bits 0–31 are ones a host must understand, "
            + "and this one does not (a later Wavehost may); rebuild the plugin without them or run a host that knows them"
    }

    static func isValidName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count) && name.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }

    private func json(_ text: UnsafePointer<CChar>?, field: String) throws(PluginError) -> JSON? {
        guard let text else { return nil }
        do { return try JSON.parse(UnsafeRawBufferPointer(start: text, count: strlen(text))) } catch {
            throw malformed("\(field) is not valid JSON: \(error)")
        }
    }

    private func examples(_ text: UnsafePointer<CChar>?) throws(PluginError) -> [ActorDescription.Example] {
        guard let value = try json(text, field: "examples") else { return [] }
        guard let items = value.arrayValue else { throw malformed("examples must be a JSON array") }
        var examples: [ActorDescription.Example] = []
        for (position, item) in items.enumerated() {
            do { examples.append(try ActorDescription.Example(item, position: position)) } catch {
                throw malformed(error.message)
            }
        }
        return examples
    }

    private func malformed(_ message: String) -> PluginError {
        PluginError(.malformedDescriptor, path: path, message)
    }
}
