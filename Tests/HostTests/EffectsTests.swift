import Testing
@testable import WavehostEngine
import WavehostJSON
import WavehostStore

/// An output's effects and a step's `save`, checked against the tables the workflow declares.
@Suite struct EffectsTests {
    static let workflow = try! WorkflowParser(file: "effects.yaml", knownActors: ["actor"]).parse("""
        workflow: effects
        tables:
          staging: json
          upstream: read
          postings:
            columns:
              external_id: text
              title: {type: text, required: true}
              salary: integer
              score: real
              remote: boolean
              posted_at: timestamp
              extra: json
            key: external_id
          grades:
            columns: {external_id: text, grader: text, grade: integer}
            key: [external_id, grader]
          numbered:
            columns: {n: integer, note: text}
            key: n
        steps:
          act: {actor: actor}
          summary: {actor: actor, save: {table: postings, rows: answer, subject: external_id}}
          many: {actor: actor, save: {table: grades, rows: items}}
          stage: {actor: actor, save: {table: staging, rows: items}}
          stage_keyed: {actor: actor, save: {table: staging, rows: items, key: id}}
          numbers: {actor: actor, save: {table: numbered, subject: n}}
        """)

    private func effects(_ output: JSON, step: String = "act", subject: String = "s-1", subjectRow: JSON? = nil) throws(Effects.Refusal) -> [Effect] {
        try Effects.from(output, step: Self.workflow.step(named: step)!, subject: subject, page: 2, workflow: Self.workflow, subjectRow: subjectRow)
    }

    private func refusal(_ output: JSON, step: String = "act", subject: String = "s-1", sourceLocation: SourceLocation = #_sourceLocation) -> String {
        do {
            let made = try effects(output, step: step, subject: subject)
            Issue.record("expected a refusal, got \(made)", sourceLocation: sourceLocation)
            return ""
        } catch { return error.reason }
    }

    static let row: JSON = [
        "external_id": "acme-1", "title": "Welder", "salary": 42000, "score": .double(0.5), "remote": true,
        "posted_at": "2026-10-02T16:25:00Z", "extra": ["tags": ["a"]],
    ]

    @Test func typedRowsAreAccepted() throws {
        let made = try effects(["effects": [
            ["table": "postings", "row": Self.row],
            ["op": "upsert", "table": "postings", "key": "acme-1", "row": ["external_id": "acme-1", "title": "Welder", "salary": nil]],
            ["op": "insert", "table": "grades", "row": ["external_id": "acme-1", "grader": "a", "grade": 4]],
            ["table": "numbered", "key": 7, "row": ["n": 7]],
        ]])
        #expect(made.map(\.operation) == [.insert, .upsert, .insert, .insert])
        #expect(made.map(\.table.qualifiedName) == ["data.postings", "data.postings", "data.grades", "data.numbered"])
        #expect(made.map(\.key) == ["acme-1", "acme-1", #"["acme-1","a"]"#, "7"])
        #expect(made[0].row == Self.row)
        #expect(made[0].table == Self.workflow.table(named: "postings")?.schema)
    }

    @Test(arguments: [
        ("title", JSON.integer(5), "column title: expects text, got an integer"),
        ("salary", JSON.string("competitive"), "column salary: expects an integer, got text"),
        ("salary", JSON.double(1.5), "column salary: expects an integer, got a number"),
        ("score", JSON.string("high"), "column score: expects a number, got text"),
        ("remote", JSON.string("true"), "column remote: expects true or false, got text"),
        ("remote", JSON.integer(1), "column remote: expects true or false, got an integer"),
        ("posted_at", JSON.string("yesterday"), "column posted_at: expects a timestamp"),
        ("posted_at", JSON.integer(1_700_000_000), "column posted_at: expects a timestamp"),
        ("title", JSON.null, "column title: expects a value (it is required)"),
        ("external_id", JSON.object([("id", 1)]), "column external_id: expects text, got an object"),
    ] as [(String, JSON, String)])
    func aHostileValueIsRefusedNamingItsColumnAndType(_ column: String, _ value: JSON, _ expected: String) throws {
        guard case .object(var members) = Self.row else { return }
        members.removeAll { $0.key == column }
        members.append((column, value))
        let reason = refusal(["effects": [["table": "postings", "row": .object(members)]]])
        #expect(reason.hasPrefix("effect refused: effects[0] (insert into data.postings): table data.postings, "), "\(reason)")
        #expect(reason.contains(expected), "\(reason)")
    }

    @Test func aJSONColumnTakesAnyValueButARequiredOneNeedsOne() throws {
        for value: JSON in [1, "x", [1, 2], ["a": nil], true] {
            #expect(try effects(["effects": [["table": "postings", "row": ["external_id": "a", "title": "t", "extra": value]]]]).count == 1)
        }
        #expect(refusal(["effects": [["table": "postings", "row": ["external_id": "a"]]]]).contains("column title: required, and the row has no value"))
    }

    @Test func undeclaredTablesAndColumnsAreRefused() {
        #expect(refusal(["effects": [["table": "archive", "key": "a", "row": [:]]]])
            == "effect refused: table archive is not writable in workflow effects (writable: staging, postings, grades, numbered)")
        #expect(refusal(["effects": [["table": "upstream", "key": "a", "row": [:]]]]).hasPrefix("effect refused: table upstream is not writable"),
                "a read declaration is not writable")
        #expect(refusal(["effects": [["table": "other.postings", "row": Self.row]]]).hasPrefix("effect refused: table other.postings is not writable"))
        let reason = refusal(["effects": [["table": "postings", "row": ["external_id": "a", "title": "t", "salery": 1]]]])
        #expect(reason.contains("table data.postings, column salery: no such column (declared: external_id, title, salary, score, remote, posted_at, extra)"),
                "\(reason)")
        #expect(refusal(["effects": [["table": "postings", "row": "acme-1"]]]).contains("column (row): the row must be an object, not text"))
        #expect(refusal(["effects": [["table": "postings", "row": ["title": "t"]]]]).contains("column external_id"))
    }

    @Test func malformedItemsAreRefused() {
        #expect(refusal(["effects": "postings"]) == "malformed effects: \"effects\" must be a list")
        #expect(refusal(["effects": [["row": [:]]]]) == "malformed effects[0]: needs a \"table\" string")
        #expect(refusal(["effects": [["op": "replace", "table": "postings", "row": Self.row]]])
            == "malformed effects[0]: op must be insert, upsert or delete, not replace")
        #expect(refusal(["effects": [["table": "staging", "row": [:]]]]) == "malformed effects[0]: needs a \"key\" string or number")
        #expect(refusal(["effects": [["table": "staging", "key": "k"]]]) == "malformed effects[0]: needs a \"row\"")
        #expect(refusal(["effects": [["table": "postings"]]]).contains("needs a \"row\" object with the columns of data.postings"))
    }

    @Test func aKeyThatDiffersFromTheRowsIsRefused() throws {
        #expect(try effects(["effects": [["table": "postings", "key": "acme-1", "row": Self.row]]]).first?.key == "acme-1")
        let reason = refusal(["effects": [["table": "postings", "key": "acme-2", "row": Self.row]]])
        #expect(reason == "effect refused: effects[0] (insert into data.postings): key \"acme-2\" differs from the row's key \"acme-1\" "
            + "(data.postings's key: external_id)")
    }

    @Test func aDeleteTakesOnlyTheKey() throws {
        let made = try effects(["effects": [
            ["op": "delete", "table": "postings", "row": ["external_id": "acme-1", "title": 5, "nonsense": true]],
            ["op": "delete", "table": "postings", "key": "acme-2"],
            ["op": "delete", "table": "grades", "row": ["external_id": "acme-1", "grader": "b"]],
            ["op": "delete", "table": "staging", "key": "s-9"],
        ]])
        #expect(made.map(\.operation) == [.delete, .delete, .delete, .delete])
        #expect(made.map(\.row) == [["external_id": "acme-1"], ["external_id": "acme-2"], ["external_id": "acme-1", "grader": "b"], ["key": "s-9"]])
        #expect(made.map(\.key) == ["acme-1", "acme-2", #"["acme-1","b"]"#, "s-9"])
        #expect(refusal(["effects": [["op": "delete", "table": "grades", "row": ["external_id": "acme-1"]]]]).contains("column grader: required"))
        #expect(refusal(["effects": [["op": "delete", "table": "numbered", "key": "seven"]]]).contains("column n: expects an integer, got text"),
                "a delete's key is typed too")
        #expect(refusal(["effects": [["op": "delete", "table": "grades", "key": "acme-1"]]]).contains("needs a \"row\""),
                "a key of two columns needs the row")
    }

    @Test func aShortFormTableStoresTheRowWhole() throws {
        let made = try effects(["effects": [["op": "upsert", "table": "staging", "key": 12, "row": ["anything": ["goes": nil]]]]])
        #expect(made == [Effect(operation: .upsert, table: .shortForm(namespace: "data", name: "staging"), key: "12", row: ["anything": ["goes": nil]])])
        let staged = try effects(["items": [["id": "x", "salary": "competitive"], ["id": 4]]], step: "stage", subject: "api")
        #expect(staged.map(\.key) == ["api/p2/0", "api/p2/1"])
        #expect(staged.map(\.row) == [["id": "x", "salary": "competitive"], ["id": 4]])
        #expect(staged.allSatisfy { $0.operation == .upsert && $0.table.isShortForm })
        #expect(try effects(["items": [["id": "x"], ["id": 4]]], step: "stage_keyed").map(\.key) == ["x", "4"])
    }

    @Test func saveWritesTheSubjectIntoItsColumn() throws {
        // The subject's own value of the column wins (subjects from a table are keyed by the staging row).
        let answer: JSON = ["answer": ["title": "Welder", "external_id": "someone-else"]]
        let made = try effects(answer, step: "summary", subject: "jobs-api/p1/0", subjectRow: ["external_id": "acme-1", "title": "x"])
        #expect(made == [Effect(operation: .upsert, table: Self.workflow.table(named: "postings")!.schema, key: "acme-1",
                                row: ["title": "Welder", "external_id": "acme-1"])])
        // Without a payload (or without that field) the subject key is written.
        #expect(try effects(answer, step: "summary", subject: "acme-9").first?.key == "acme-9")
        #expect(try effects(answer, step: "summary", subject: "acme-9", subjectRow: ["id": 1]).first?.row["external_id"] == "acme-9")
        // A numeric column gets a number.
        let numbered = try effects(["note": "hi"], step: "numbers", subject: "42")
        #expect(numbered.first?.row == ["note": "hi", "n": 42] && numbered.first?.key == "42")
        // The rows are checked like any effect's.
        let reason = refusal(["answer": ["title": 3]], step: "summary")
        #expect(reason == "effect refused: save into data.postings, row 0: table data.postings, column title: expects text, got an integer")
        #expect(refusal(["answer": "Welder"], step: "summary").contains("the row must be an object, not text"))
    }

    @Test func saveChecksEveryRowOfAList() throws {
        let made = try effects(["items": [["external_id": "a", "grader": "x", "grade": 1], ["external_id": "a", "grader": "y", "grade": 2]]], step: "many")
        #expect(made.map(\.key) == [#"["a","x"]"#, #"["a","y"]"#])
        let reason = refusal(["items": [["external_id": "a", "grader": "x", "grade": 1], ["external_id": "a", "grader": "y", "grade": "B"]]], step: "many")
        #expect(reason == "effect refused: save into data.grades, row 1: table data.grades, column grade: expects an integer, got text")
    }
}
