import EmbCacheCore

/// Takes an API key out of text that is about to be printed. A server may
/// quote a key back whole, cut (`sk-proj-abcd…wxyz`) or escaped inside the
/// JSON it answers with, so every run of `shortestRun` or more consecutive
/// characters of the key goes, in each form the key can take in a message:
/// as it is, and escaped as JSON escapes it. What may survive is a run of at
/// most `shortestRun - 1` characters, which says no more about the key than
/// its length.
struct KeyRedactor: Sendable {
    static let shortestRun = 8
    static let replacement = "[redacted]"

    /// The key's forms, as Unicode scalars.
    private let forms: [[Unicode.Scalar]]

    /// Nil when there is no key to hide. A key shorter than 4 characters
    /// would redact ordinary words: it is left to the server to refuse.
    init?(key: String?) {
        guard let key, key.unicodeScalars.count >= 4 else { return nil }
        var escaped: [UInt8] = []
        appendJSONString(key, to: &escaped)
        let json = String(decoding: escaped.dropFirst().dropLast(), as: UTF8.self)
        // Some servers (PHP's json_encode) escape "/" too.
        let jsonSolidus = String(json.flatMap { $0 == "/" ? ["\\", "/"] : [$0] })
        var forms: [[Unicode.Scalar]] = []
        for form in [key, json, jsonSolidus] where !forms.contains(Array(form.unicodeScalars)) {
            forms.append(Array(form.unicodeScalars))
        }
        self.forms = forms
    }

    func redact(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        guard !scalars.isEmpty else { return text }
        // reach[i]: the longest run of a form's characters that ends at i.
        var reach = [Int](repeating: 0, count: scalars.count)
        for form in forms {
            let shortest = min(Self.shortestRun, form.count)
            // The longest common run ending at text[i] and form[j], row by
            // row of i: O(text × key).
            var previous = [Int](repeating: 0, count: form.count + 1)
            var current = previous
            for i in scalars.indices {
                for j in form.indices {
                    let run = scalars[i] == form[j] ? previous[j] + 1 : 0
                    current[j + 1] = run
                    if run >= shortest && run > reach[i] { reach[i] = run }
                }
                swap(&previous, &current)
            }
        }
        guard reach.contains(where: { $0 > 0 }) else { return text }
        var hidden = [Bool](repeating: false, count: scalars.count)
        var left = 0
        for i in scalars.indices.reversed() {
            left = max(left - 1, reach[i])
            hidden[i] = left > 0
        }
        var result = String.UnicodeScalarView()
        for i in scalars.indices {
            if !hidden[i] {
                result.append(scalars[i])
            } else if i == 0 || !hidden[i - 1] {
                result.append(contentsOf: Self.replacement.unicodeScalars)
            }
        }
        return String(result)
    }
}
