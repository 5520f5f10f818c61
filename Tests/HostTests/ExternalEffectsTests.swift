import Foundation
import Testing
@testable import WavehostEngine
@testable import WavehostStore

/// An actor that declares WH_CAP_EXTERNAL_EFFECTS touches the world itself (here: it appends
/// to a file on every call), so the engine never runs it in a shadow or a test run: it is
/// recorded as skipped, with the reason, and never called.
@Suite struct ExternalEffectsTests {
    static func notifier() throws -> (library: String, mark: String) {
        let mark = try TestPlugins.temporaryDirectory() + "/calls"
        let library = try TestPlugins.misbehaving(#"EXTERNAL_EFFECTS_MARK="\#(mark)""#, #"ACTOR_NAME="notifier""#)
        return (library, mark)
    }

    static func calls(_ mark: String) -> Int {
        ((try? String(contentsOfFile: mark, encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    @Test(arguments: [Backend.sqlite, .postgres])
    func aShadowVariantIsNeverCalled(_ backend: Backend) throws {
        let (library, mark) = try Self.notifier()
        let store = try EngineFixtures.store(backend)
        let catalog = try EngineFixtures.catalog(["EchoC"], files: [library], trusting: ["EchoC", library])
        let yaml = """
            workflow: shadowed-notify
            steps:
              notify:
                variants:
                  - {actor: echo-c, isolation: inprocess}
                  - {actor: notifier, mode: shadow, isolation: inprocess}
            """
        let progress = try EngineFixtures.run(yaml, EngineFixtures.subjects(20), store: store, catalog: catalog)
        #expect(progress.runsCompleted == 20)
        #expect(Self.calls(mark) == 0, "the shadow was called")
        #expect(try store.count("SELECT COUNT(*) FROM events WHERE kind = 'shadow_skipped'") == 20)
        let causes = try store.rows("SELECT cause FROM events WHERE kind = 'shadow_skipped'")
        #expect(causes.allSatisfy { "\($0)".contains("notifier declares external effects (WH_CAP_EXTERNAL_EFFECTS): it never runs in shadow runs") },
                "\(causes.prefix(1))")
    }

    @Test func aTestRunSkipsTheStepAndGoesOn() throws {
        let (library, mark) = try Self.notifier()
        let store = try EngineFixtures.store(.sqlite)
        let catalog = try EngineFixtures.catalog(["EchoC"], files: [library], trusting: ["EchoC", library])
        func yaml(_ environment: String) -> String {
            """
            workflow: notify-\(environment)
            environment: \(environment)
            steps:
              notify: {actor: notifier, isolation: inprocess}
              after: {actor: echo-c, isolation: inprocess, after: [notify]}
            """
        }
        let test = try EngineFixtures.run(yaml("test"), EngineFixtures.subjects(5), store: store, catalog: catalog)
        #expect(test.runsCompleted == 5)
        #expect(Self.calls(mark) == 0, "a test run called the actor")
        let skipped = try store.rows("SELECT cause FROM events WHERE kind = 'step_skipped'")
        #expect(skipped.count == 10, "notify, and the step after it: \(skipped)")
        #expect(skipped.contains { "\($0)".contains("it never runs in test runs") }, "\(skipped)")

        // The control: in production the same actor is called, once per run.
        let prod = try EngineFixtures.run(yaml("prod"), EngineFixtures.subjects(5), store: store, catalog: catalog)
        #expect(prod.runsCompleted == 5)
        #expect(Self.calls(mark) == 5)
    }
}
