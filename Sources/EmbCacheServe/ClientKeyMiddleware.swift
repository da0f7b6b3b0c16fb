import Hummingbird

/// Lets through only requests that carry one of the client keys as a
/// bearer token; `GET /health` needs none, so that a load balancer can ask.
/// Keys are compared in time that depends on their lengths only.
struct ClientKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let keys: [[UInt8]]

    init(keys: [String]) {
        self.keys = keys.map { Array($0.utf8) }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        if request.uri.path == "/health" { return try await next(request, context) }
        // The scheme's name is case-insensitive (RFC 9110).
        guard let header = request.headers[.authorization], header.prefix(7).lowercased() == "bearer " else {
            throw APIError.unauthorized
        }
        let given = Array(header.utf8.dropFirst("bearer ".utf8.count))
        // Every key is compared, whichever matches.
        var matched = false
        for key in keys where constantTimeEqual(given, key) { matched = true }
        guard matched else { throw APIError.unauthorized }
        return try await next(request, context)
    }
}

/// Whether two byte strings are equal, in time that does not depend on
/// where they first differ.
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
    difference |= UInt8(a.count == b.count ? 0 : 1)
    for index in 0..<max(a.count, b.count) {
        let x = index < a.count ? a[index] : 0
        let y = index < b.count ? b[index] : 0
        difference |= x ^ y
    }
    return difference == 0
}
