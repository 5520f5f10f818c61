import Foundation
import Testing
@testable import WavehostEngine
@testable import WavehostStore

/// A lookup the store cannot answer is a failed, retryable interaction: the actor is never
/// told "no such row" when the truth is "could not look".
@Suite struct EngineLookupTests {
    @Test func aFailedLookupFailsTheInteractionInsteadOfSendingNull() throws {
        let store = try EngineFixtures.store(.sqlite)
        try store.declareTables([TableDeclaration(schema: .shortForm(namespace: "data", name: "postings"), access: .write)], workflow: "lookups")
        _ = try store.rows("DROP TABLE data_postings")  // every lookup now fails
        let progress = try EngineFixtures.run("""
            workflow: lookups
            tables: [postings]
            steps:
              check: {actor: echo-c, isolation: inprocess, lookup: {table: postings, key: n}, retries: {attempts: 2}}
            """, EngineFixtures.subjects(1), store: store, catalog: try EngineFixtures.catalog(["EchoC"], trusting: ["EchoC"]))
        #expect(progress.runsFailed == 1)
        let errors = try store.rows("SELECT status, error FROM interactions ORDER BY id")
        #expect(errors.count == 2, "retried once: \(errors)")
        for row in errors {
            #expect(row[0].text == "failed" && row[1].text?.contains("the lookup in postings failed, so the actor was not called") == true, "\(row)")
        }
    }
}
