/// A pointer handed to concurrent workers that each write their own slot.
package struct UnsafeSendable<T>: @unchecked Sendable {
    package var value: T
    package init(_ value: T) { self.value = value }
}
