import WavehostJSON

/// A declaration as the registry (`declared_tables.schema`) and `wavehost tables show` spell it.
extension TableSchema {
    public var json: JSON {
        var members: [(key: String, value: JSON)] = [
            ("namespace", .string(namespace)), ("name", .string(name)),
            ("columns", .array(columns.map { .object([("name", .string($0.name)), ("type", .string($0.type.rawValue)), ("required", .bool($0.required))]) })),
            ("key", .array(key.map(JSON.string))),
        ]
        if !indexes.isEmpty { members.append(("indexes", .array(indexes.map { .array($0.map(JSON.string)) }))) }
        if !references.isEmpty {
            members.append(("references", .array(references.map {
                .object([("column", .string($0.column)), ("table", .string($0.table)), ("target", .string($0.targetColumn))])
            })))
        }
        if let freshness { members.append(("freshness", .string(freshness))) }
        if isShortForm { members.append(("short_form", .bool(true))) }
        return .object(members)
    }

    /// The declaration `json` wrote; nil for anything else (a row edited by hand).
    public init?(json: JSON) {
        guard let namespace = json["namespace"]?.stringValue, let name = json["name"]?.stringValue,
              let columnList = json["columns"]?.arrayValue, let keyList = json["key"]?.arrayValue else { return nil }
        var columns: [Column] = []
        for item in columnList {
            guard let columnName = item["name"]?.stringValue, let type = item["type"]?.stringValue.flatMap(ColumnType.init) else { return nil }
            columns.append(Column(name: columnName, type: type, required: item["required"]?.boolValue ?? false))
        }
        let references = (json["references"]?.arrayValue ?? []).compactMap { item -> Reference? in
            guard let column = item["column"]?.stringValue, let table = item["table"]?.stringValue, let target = item["target"]?.stringValue else { return nil }
            return Reference(column: column, table: table, targetColumn: target)
        }
        self.init(namespace: namespace, name: name, columns: columns, key: keyList.compactMap(\.stringValue),
                  indexes: (json["indexes"]?.arrayValue ?? []).map { $0.arrayValue?.compactMap(\.stringValue) ?? [] },
                  references: references, freshness: json["freshness"]?.stringValue, isShortForm: json["short_form"]?.boolValue ?? false)
    }
}
