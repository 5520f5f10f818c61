import Foundation
import Testing
import WavehostEngine
import WavehostStore

/// `namespace:`, `tables:` (and the older `writable_tables:`) and the steps' uses of tables:
/// every form, and every refusal with the line it reports.
@Suite struct TableDeclarationTests {
    private let parser = WorkflowParser(file: "jobs.yaml", knownActors: ["fetcher", "validator", "grader"])

    /// A workflow whose top-level lines after `workflow: w` (line 1) are `top`, then `steps`.
    private func file(_ top: String, steps: String = "  a: {actor: fetcher}\n") -> String {
        "workflow: w\n" + top + "steps:\n" + steps
    }

    private func refusal(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) -> WorkflowError? {
        do {
            _ = try parser.parse(yaml)
            Issue.record("expected the workflow to be refused", sourceLocation: sourceLocation)
            return nil
        } catch { return error }
    }

    // MARK: - Forms

    @Test func aListIsShortFormWritableTablesAndWritableTablesIsItsOlderSpelling() throws {
        for key in ["tables", "writable_tables"] {
            let workflow = try parser.parse(file("\(key): [staging, other.archive]\n"))
            #expect(workflow.namespace == TableSchema.defaultNamespace)
            #expect(workflow.tables.map(\.schema) == [.shortForm(namespace: "data", name: "staging"), .shortForm(namespace: "other", name: "archive")])
            #expect(workflow.tables.allSatisfy { $0.access == .write && $0.line == 2 })
            #expect(workflow.writableTables == ["staging", "other.archive"])
        }
        #expect(try parser.parse(file("")).tables.isEmpty)
    }

    @Test func aMappingDeclaresShortFormReadAndFullTables() throws {
        let workflow = try parser.parse(file("""
            namespace: jobs
            tables:
              staging: json
              data.postings_staging: read
              postings:
                columns:
                  external_id: text
                  title: {type: text, required: true}
                  salary: integer
                  score: real
                  remote: boolean
                  posted_at: timestamp
                  extra: {type: json, required: false}
                key: external_id
                indexes: [title, [remote, posted_at]]
                freshness: posted_at
                writers: [fetch-postings]
              grades:
                columns: {external_id: text, grader: text, grade: integer}
                key: [external_id, grader]
                references: {external_id: postings.external_id}

            """))
        #expect(workflow.namespace == "jobs")
        #expect(workflow.tables.map(\.schema.qualifiedName) == ["jobs.staging", "data.postings_staging", "jobs.postings", "jobs.grades"])
        #expect(workflow.tables.map(\.access) == [.write, .read, .write, .write])
        #expect(workflow.tables.map(\.line) == [4, 5, 6, 19])
        #expect(workflow.writableTables == ["staging", "postings", "grades"])
        #expect(workflow.table(named: "staging")?.schema.isShortForm == true)
        let read = try #require(workflow.table(named: "data.postings_staging"))
        #expect(read.schema.columns.isEmpty && read.schema.key.isEmpty && read.access == .read)
        #expect(workflow.table(named: "postings_staging") == nil, "unqualified means the file's namespace, jobs")
        let postings = try #require(workflow.table(named: "jobs.postings"))
        #expect(workflow.table(named: "postings") == postings)
        #expect(postings.schema.columns == [
            .init(name: "external_id", type: .text, required: true), .init(name: "title", type: .text, required: true),
            .init(name: "salary", type: .integer), .init(name: "score", type: .real), .init(name: "remote", type: .boolean),
            .init(name: "posted_at", type: .timestamp), .init(name: "extra", type: .json),
        ])
        #expect(postings.schema.key == ["external_id"] && !postings.schema.isShortForm)
        #expect(postings.schema.indexes == [["title"], ["remote", "posted_at"]])
        #expect(postings.schema.freshness == "posted_at")
        #expect(postings.writers == ["fetch-postings"])
        let grades = try #require(workflow.table(named: "grades")).schema
        #expect(grades.key == ["external_id", "grader"])
        #expect(grades.columns.filter(\.required).map(\.name) == ["external_id", "grader"], "key columns are required")
        #expect(grades.references == [.init(column: "external_id", table: "jobs.postings", targetColumn: "external_id")])
    }

    @Test func stepsUseDeclaredTables() throws {
        let workflow = try parser.parse(file("""
            subjects: {table: staging}
            tables:
              staging: read
              postings:
                columns: {external_id: text, summary: text}
                key: external_id
              notes: json

            """, steps: """
              a:
                actor: validator
                lookup: {table: postings, key: external_id}
              b:
                actor: grader
                after: [a]
                save: {table: postings, rows: answer, subject: external_id}
              c:
                actor: grader
                save: {table: notes, rows: items, key: id}

            """))
        #expect(workflow.subjects == .table("staging"))
        let save = try #require(workflow.step(named: "b")?.save)
        #expect(save.table == "postings" && save.rows == ["answer"] && save.subject == "external_id" && save.key == nil)
        #expect(workflow.step(named: "c")?.save?.key == "id")
    }

    @Test func theBundledSamplesParse() throws {
        let folder = TestPlugins.repositoryRoot + "/samples/workflows"
        for name in ["fetch-postings", "job-postings"] {
            let path = "\(folder)/\(name).yaml"
            let parser = WorkflowParser(file: path)
            let text = try #require(FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) })
            let workflow = try parser.parse(try parser.expandVariables(text, [:]))
            #expect(workflow.name == name)
            if name == "fetch-postings" {
                #expect(workflow.tables == [TableDeclaration(schema: .shortForm(namespace: "data", name: "postings_staging"), access: .write, line: workflow.tables[0].line)])
                continue
            }
            #expect(workflow.table(named: "postings_staging")?.access == .read)
            let postings = try #require(workflow.table(named: "postings")?.schema)
            #expect(postings.key == ["external_id"])
            #expect(postings.column(named: "remote")?.type == .boolean)
            #expect(postings.column(named: "salary_min")?.type == .integer && postings.column(named: "salary_max")?.type == .integer)
            #expect(postings.column(named: "posted_at")?.type == .timestamp)
            for table in ["posting_summaries", "posting_skills", "posting_ihl", "posting_grade_a", "posting_grade_b"] {
                let schema = try #require(workflow.table(named: table)?.schema, "\(table)")
                #expect(schema.key == ["external_id"])
                #expect(schema.references == [.init(column: "external_id", table: "data.postings", targetColumn: "external_id")])
                #expect(workflow.steps.contains { $0.save?.table == table && $0.save?.subject == "external_id" }, "\(table)")
            }
            #expect(workflow.table(named: "posting_ihl")?.schema.column(named: "score")?.type == .integer)
            #expect(workflow.table(named: "posting_grade_b")?.schema.column(named: "grade")?.type == .integer)
            #expect(workflow.table(named: "posting_skills")?.schema.column(named: "skills")?.type == .json)
        }
    }

    // MARK: - Refusals

    @Test(arguments: [
        // namespace
        ("namespace: job_s\n", 2, "may hold only lower-case letters and digits (no _"),
        ("namespace: Jobs\n", 2, "\"Jobs\" must start with a lower-case letter"),
        ("namespace: 9jobs\n", 2, "must start with a lower-case letter"),
        ("namespace: abcdefghijklmnopq\n", 2, "longer than 16 characters"),
        ("namespace: runs\n", 2, "\"runs\" is reserved"),
        // the two spellings, and names
        ("writable_tables: [a]\ntables: [b]\n", 2, "give either \"tables\" or \"writable_tables\""),
        ("tables: [a, b, a]\n", 2, "table data.a is declared twice"),
        ("tables:\n  postings: json\n  data.postings: read\n", 4, "table data.postings is declared twice (first at line 3)"),
        ("tables: [Postings]\n", 2, "table name \"Postings\" must start with a lower-case letter"),
        ("tables:\n  post-ings: json\n", 3, "may hold only lower-case letters, digits and _"),
        ("tables:\n  a.b.c: json\n", 3, "\"a.b.c\" is not a table name"),
        ("tables:\n  my_ns.t: read\n", 3, "namespace \"my_ns\" may hold only lower-case letters and digits"),
        ("tables: {a: write}\n", 2, "write json (a short-form table: key and data), read (another workflow's table), or a mapping"),
        ("writable_tables: {a: json}\n", 2, "writable_tables must be a list of table names"),
        // full declarations
        ("tables:\n  t:\n    key: id\n", 4, "table t needs \"columns\""),
        ("tables:\n  t:\n    columns: {id: text}\n", 4, "table t needs a \"key\""),
        ("tables:\n  t:\n    columns: {id: text}\n    key: id\n    primary: id\n", 6, "table t: unknown key \"primary\""),
        ("tables:\n  t:\n    columns: {id: text, _run_id: integer}\n    key: id\n", 4,
         "column _run_id: names starting with _ are the host's (_interaction_id, _run_id, _written_at, _origin)"),
        ("tables:\n  t:\n    columns: {id: text, Name: text}\n    key: id\n", 4, "column \"Name\" must start with a lower-case letter"),
        ("tables:\n  t:\n    columns:\n      id: text\n      n: int\n    key: id\n", 6,
         "column n: unknown type \"int\" (types: text, integer, real, boolean, timestamp, json)"),
        ("tables:\n  t:\n    columns:\n      id: text\n      n: {required: true}\n    key: id\n", 6, "column n needs a \"type\""),
        ("tables:\n  t:\n    columns:\n      id: text\n      n: {type: text, required: yes please}\n    key: id\n", 6, "required is true or false"),
        ("tables:\n  t:\n    columns: {id: text}\n    key: [id, other]\n", 5, "key names other, which is not among its columns (id)"),
        ("tables:\n  t:\n    columns: {id: text}\n    key: []\n", 5, "key names no column"),
        ("tables:\n  t:\n    columns: {id: text, at: text}\n    key: id\n    freshness: at\n", 6,
         "freshness names one timestamp or integer column"),
        ("tables:\n  t:\n    columns: {id: text}\n    key: id\n    freshness: when\n", 6, "freshness names when, which is not among its columns"),
        ("tables:\n  t:\n    columns: {id: text}\n    key: id\n    indexes: [[id, nope]]\n", 6, "an index names nope, which is not among its columns"),
        ("tables:\n  t:\n    columns: {id: text}\n    key: id\n    references: {pid: p.id}\n", 6, "a reference names pid, which is not among its columns"),
        ("tables:\n  t:\n    columns: {id: text}\n    key: id\n    references:\n      id: postings.external_id\n", 7,
         "references id → data.postings, a table this file does not declare: declare it under tables:"),
        ("tables:\n  t:\n    columns: {id: text}\n    key: id\n    references: {id: postings}\n", 6, "write table.column"),
        ("tables:\n  p:\n    columns: {id: text, n: text}\n    key: id\n  t:\n    columns: {id: text}\n    key: id\n    references: {id: p.n}\n", 9,
         "references data.p.n, which is not the key of data.p"),
        ("tables:\n  p:\n    columns: {id: integer}\n    key: id\n  t:\n    columns: {id: text}\n    key: id\n    references: {id: p.id}\n", 9,
         "column id is text but references data.p.id, which is integer"),
    ] as [(String, Int, String)])
    func declarationFaultsAreRefusedWithTheirLine(_ top: String, _ line: Int, _ expected: String) throws {
        let error = try #require(refusal(file(top)))
        #expect(error.line == line, "\(error)")
        #expect(error.message.contains(expected), "\(error)")
    }

    @Test func aReferenceToAReadDeclarationOrALaterTableIsAccepted() throws {
        let workflow = try parser.parse(file("""
            tables:
              t:
                columns: {id: text, p: text}
                key: id
                references: {id: postings.external_id, p: later.key}
              postings: read
              later: json

            """))
        #expect(workflow.table(named: "t")?.schema.references.map(\.table) == ["data.postings", "data.later"])
    }

    @Test(arguments: [
        ("tables: [a]\n", "  s:\n    actor: grader\n    save: {table: postings}\n", 6,
         "step s (line 4): save writes table postings, which is not declared (declared: a): declare it under tables:"),
        ("", "  s:\n    actor: grader\n    save: {table: postings}\n", 5, "(declared: none): declare it under tables:"),
        ("tables: {postings: read}\n", "  s:\n    actor: grader\n    save: {table: postings}\n", 6,
         "step s (line 4): save writes table postings, which this workflow declares read-only: declare it writable under tables:"),
        ("tables: [a]\n", "  s:\n    actor: validator\n    lookup: {table: postings, key: id}\n", 6,
         "step s (line 4): lookup reads table postings, which is not declared (declared: a): declare it under tables: (as postings: read"),
        ("subjects: {table: staging}\ntables: [a]\n", "  s: {actor: fetcher}\n", 2,
         "subjects: table staging is not declared (declared: a): declare it under tables: (as staging: read"),
        ("tables:\n  p:\n    columns: {id: text}\n    key: id\n", "  s:\n    actor: grader\n    save: {table: p, key: id}\n", 9,
         "step s (line 7): save: key is for short-form tables; p's key is declared (id)"),
        ("tables:\n  p:\n    columns: {id: text}\n    key: id\n", "  s:\n    actor: grader\n    save: {table: p, subject: pid}\n", 9,
         "save: subject names pid, which is not a column of p (id)"),
        ("tables: [p]\n", "  s:\n    actor: grader\n    save: {table: p, subject: id}\n", 6,
         "save: subject names a column, and p is a short-form table"),
        ("tables: [p]\n", "  s:\n    actor: grader\n    save: {table: p, subjekt: id}\n", 6, "save: unknown key \"subjekt\""),
    ] as [(String, String, Int, String)])
    func usesOfUndeclaredTablesAreRefusedWithTheStepAndLine(_ top: String, _ steps: String, _ line: Int, _ expected: String) throws {
        let error = try #require(refusal(file(top, steps: steps)))
        #expect(error.line == line, "\(error)")
        #expect(error.message.contains(expected), "\(error)")
    }
}
