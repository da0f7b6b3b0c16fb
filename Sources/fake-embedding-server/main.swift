// A fake OpenAI embeddings server for the scheduler's tests and benchmark:
// cheap enough per request that it is never what limits a run, and able to
// hold any number of requests at once.
//
//   fake-embedding-server --port-file PATH [--latency S] [--dim D]
//                         [--times PATH] [--hold N [--idle S]]
//
// POST …/embeddings (OpenAI's wire format, `input` a string or a list of
// strings, `encoding_format` base64 or float) is answered --latency
// seconds after it arrived, with vectors of dimension --dim (default 64)
// that depend only on each text. With --hold N, requests are answered
// oldest first, each when its latency is up and N requests are held, or,
// once none has arrived for --idle seconds (default 5), all at once: a
// client that keeps N requests in flight sees the latency, one that
// leaves a slot empty while it has work waits --idle. Binds 127.0.0.1 on an ephemeral port, writes the port
// (no newline) to --port-file atomically; exits 0 on SIGTERM. With --times
// it appends, as each answer is written, one line:
//
//   ARRIVED ANSWERED TEXTS HELD ARRIVALS WHY
//
// the arrival and answer in seconds since the epoch, the texts asked for,
// the requests held when it was answered (itself included), the requests
// that had arrived by then, and why then: `latency`, `full` (with --hold,
// every slot held) or `idle`.
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

struct Options {
    var portFile = ""
    var latency = 0.2
    var dimension = 64
    var times: String?
    var hold: Int?
    var idle = 5.0

    static func parse(_ arguments: [String]) -> Options {
        var options = Options()
        var rest = arguments[...]
        func value(_ flag: String) -> String {
            guard let value = rest.popFirst() else { fail("\(flag) needs a value") }
            return value
        }
        while let flag = rest.popFirst() {
            switch flag {
            case "--port-file": options.portFile = value(flag)
            case "--latency": options.latency = Double(value(flag)) ?? -1
            case "--dim": options.dimension = Int(value(flag)) ?? 0
            case "--times": options.times = value(flag)
            case "--hold": options.hold = Int(value(flag)) ?? 0
            case "--idle": options.idle = Double(value(flag)) ?? -1
            default: fail("unknown argument \(flag)")
            }
        }
        guard !options.portFile.isEmpty else { fail("--port-file is needed") }
        guard options.latency >= 0, options.idle >= 0, options.dimension > 0, (options.hold ?? 1) > 0 else {
            fail("--latency and --idle take seconds, --dim and --hold a positive count")
        }
        return options
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("fake-embedding-server: \(message)\n".utf8))
    exit(64)
}

/// The vector of a text: a hash of its bytes stretched over the dimension,
/// each value in (0, 1].
func vector(of text: String, dimension: Int) -> [Float] {
    var state: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 { state = (state ^ UInt64(byte)) &* 0x100_0000_01b3 }
    return (0..<dimension).map { _ in
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return Float(state >> 40 & 0xFFFF) / 65536 + 0.0001
    }
}

/// The answer's body for these texts.
func answer(_ texts: [String], dimension: Int, base64: Bool) -> [UInt8] {
    var body = Array(#"{"object":"list","data":["#.utf8)
    body.reserveCapacity(texts.count * (dimension * 6 + 48) + 128)
    for (index, text) in texts.enumerated() {
        if index > 0 { body.append(UInt8(ascii: ",")) }
        body += Array(#"{"object":"embedding","index":\#(index),"embedding":"#.utf8)
        let values = vector(of: text, dimension: dimension)
        if base64 {
            let bytes = values.withUnsafeBytes { Data($0) }
            body += Array("\"\(bytes.base64EncodedString())\"".utf8)
        } else {
            body += Array("[\(values.map { "\($0)" }.joined(separator: ","))]".utf8)
        }
        body.append(UInt8(ascii: "}"))
    }
    body += Array(#"],"model":"fake","usage":{"prompt_tokens":0,"total_tokens":0}}"#.utf8)
    return body
}

/// The requests held and the record of answers. Every connection runs on
/// the one event loop, so this is only touched from its thread.
final class Held: @unchecked Sendable {
    struct Request {
        /// Its place among the arrivals.
        var number: Int
        var arrived: Double
        var due: NIODeadline
        var texts: Int
        var send: () -> Void
    }

    let options: Options
    let loop: EventLoop
    /// Requests not yet answered, oldest first.
    private var waiting: [Request] = []
    private var arrivals = 0
    /// With --hold: whether the oldest's answer is scheduled.
    private var answering = false
    private var idleTimer: Scheduled<Void>?
    /// Opened to append: a reader may empty the file between runs.
    private let times: Int32?

    init(options: Options, loop: EventLoop) {
        self.options = options
        self.loop = loop
        times = options.times.map { path in
            let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { fail("cannot write \(path)") }
            return fd
        }
    }

    /// A request has arrived; `send` writes its answer.
    func arrive(texts: Int, send: @escaping () -> Void) {
        arrivals += 1
        let latency = TimeAmount.nanoseconds(Int64(options.latency * 1e9))
        let request = Request(
            number: arrivals, arrived: Date().timeIntervalSince1970, due: .now() + latency, texts: texts, send: send)
        waiting.append(request)
        guard options.hold != nil else {
            loop.assumeIsolated().scheduleTask(deadline: request.due) { [self] in
                let index = waiting.firstIndex { $0.number == request.number }!
                answer(waiting.remove(at: index), held: waiting.count + 1, why: "latency")
            }
            return
        }
        idleTimer?.cancel()
        idleTimer = loop.assumeIsolated().scheduleTask(in: .nanoseconds(Int64(options.idle * 1e9))) { [self] in
            let all = waiting
            waiting = []
            for (index, request) in all.enumerated() { answer(request, held: all.count - index, why: "idle") }
        }
        answerOldestIfFull()
    }

    /// With --hold: once every slot is held, the oldest is answered when
    /// its latency is up.
    private func answerOldestIfFull() {
        guard !answering, let oldest = waiting.first, waiting.count >= options.hold! else { return }
        answering = true
        loop.assumeIsolated().scheduleTask(deadline: oldest.due) { [self] in
            answering = false
            // An idle flush may have answered it meanwhile.
            guard waiting.count >= options.hold! else { return }
            answer(waiting.removeFirst(), held: waiting.count + 1, why: "full")
            answerOldestIfFull()
        }
    }

    private func answer(_ request: Request, held: Int, why: String) {
        request.send()
        guard let times else { return }
        let line = String(
            format: "%.6f %.6f %d %d %d %@\n", request.arrived, Date().timeIntervalSince1970, request.texts, held,
            arrivals, why)
        _ = line.utf8CString.withUnsafeBufferPointer { write(times, $0.baseAddress, $0.count - 1) }
    }
}

final class EmbeddingsHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let held: Held
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?

    init(held: Held) {
        self.held = held
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = context.channel.allocator.buffer(capacity: 0)
        case .body(var part):
            body?.writeBuffer(&part)
        case .end:
            guard let head else { return }
            respond(context, head, body.map { Array($0.readableBytesView) } ?? [])
            self.head = nil
            body = nil
        }
    }

    private func respond(_ context: ChannelHandlerContext, _ head: HTTPRequestHead, _ bytes: [UInt8]) {
        guard head.method == .POST, head.uri.hasSuffix("/embeddings"),
            let document = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
            let texts = (document["input"] as? [String]) ?? (document["input"] as? String).map({ [$0] })
        else {
            let message = #"{"error":{"message":"not an embeddings request","type":"invalid_request_error"}}"#
            write(context, status: .badRequest, Array(message.utf8), keepAlive: head.isKeepAlive)
            return
        }
        let answer = answer(
            texts, dimension: held.options.dimension, base64: document["encoding_format"] as? String == "base64")
        let keepAlive = head.isKeepAlive
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let send = { bound.value.0.write(bound.value.1, status: .ok, answer, keepAlive: keepAlive) }
        held.arrive(texts: texts.count, send: send)
    }

    private func write(_ context: ChannelHandlerContext, status: HTTPResponseStatus, _ body: [UInt8], keepAlive: Bool) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: "\(body.count)")
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

let options = Options.parse(Array(CommandLine.arguments.dropFirst()))
// One thread: every request of every connection is held in one place, and
// the server's share of the machine stays small.
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let loop = group.next()
let held = Held(options: options, loop: loop)
let channel = try ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 1024)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.configureHTTPServerPipeline()
            try channel.pipeline.syncOperations.addHandler(EmbeddingsHandler(held: held))
        }
    }
    .bind(host: "127.0.0.1", port: 0)
    .wait()

let temporary = "\(options.portFile).\(getpid()).tmp"
try Data("\(channel.localAddress!.port!)".utf8).write(to: URL(fileURLWithPath: temporary))
guard rename(temporary, options.portFile) == 0 else { fail("cannot write \(options.portFile)") }

signal(SIGTERM, SIG_IGN)
let terminate = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
terminate.setEventHandler { exit(0) }
terminate.resume()
try channel.closeFuture.wait()
