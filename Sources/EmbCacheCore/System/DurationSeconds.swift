extension Duration {
    /// The duration as seconds, for messages and for APIs that take seconds.
    package var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
