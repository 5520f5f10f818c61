import WavehostJSON
import WavehostSandbox

/// A variant's grants as the store keeps them (`variants.grants`), in the workflow file's
/// own words: `{"network": {"allow": […], "schemes": […], "writes_in": […]}, "environment": […], "read": […]}`.
extension WorkflowDefinition.Grants {
    /// Nil for no grants, so a variant without any stores NULL.
    var json: JSON? {
        var members: [(key: String, value: JSON)] = []
        if let network {
            members.append(("network", .object([
                ("allow", .array(network.allow.map { .string($0.description) })),
                ("schemes", .array(network.schemes.map(JSON.string))),
                ("writes_in", .array(NetworkGrant.Run.allCases.filter(network.writesIn.contains).map { .string($0.rawValue) })),
            ])))
        }
        if !environment.isEmpty { members.append(("environment", .array(environment.map(JSON.string)))) }
        if !read.isEmpty { members.append(("read", .array(read.map(JSON.string)))) }
        return members.isEmpty ? nil : .object(members)
    }

    /// The grants `json` describes; the error says what is wrong (a row edited by hand).
    init(json: JSON) throws(StoredGrantError) {
        func strings(_ value: JSON?, _ name: String) throws(StoredGrantError) -> [String] {
            guard let value else { return [] }
            guard let items = value.arrayValue?.compactMap(\.stringValue), items.count == value.arrayValue?.count else {
                throw StoredGrantError(description: "\(name) is not a list of strings")
            }
            return items
        }
        self.init(environment: try strings(json["environment"], "environment"), read: try strings(json["read"], "read"))
        if let network = json["network"] {
            let (allow, schemes) = (try strings(network["allow"], "network.allow"), try strings(network["schemes"], "network.schemes"))
            do throws(NetworkGrant.GrantError) { self.network = try NetworkGrant(allow: allow, schemes: schemes) } catch {
                throw StoredGrantError(description: "\(error)")
            }
            let runs = try strings(network["writes_in"], "network.writes_in")
            let writes = runs.compactMap(NetworkGrant.Run.init(rawValue:))
            guard writes.count == runs.count else { throw StoredGrantError(description: "network.writes_in names an unknown run") }
            self.network?.writesIn = Set(writes)
        }
    }
}

struct StoredGrantError: Error, CustomStringConvertible {
    let description: String
}
