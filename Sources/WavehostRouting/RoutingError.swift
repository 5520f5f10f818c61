/// A routing decision refused: a canary's schedule that cannot drive a ramp, a variant that
/// is not there or not a challenger. Not the store's failure (the database did nothing
/// wrong), so not a `StoreError`; the message says what to change.
public struct RoutingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was refused; a struct around a private enum, so cases can be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: Sendable, Hashable { case invalidSchedule, unknownVariant, notAChallenger }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// A canary's schedule needs two stages or more and ends at 100.
        public static let invalidSchedule = Code(.invalidSchedule)
        /// The step has no such variant (or it is retired).
        public static let unknownVariant = Code(.unknownVariant)
        /// A canary ramps a challenger; this variant is the champion.
        public static let notAChallenger = Code(.notAChallenger)

        public var description: String { "\(value)" }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
