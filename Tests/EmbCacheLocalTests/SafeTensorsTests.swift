import EmbCacheLocal
import Foundation
import Testing

@Suite struct SafeTensorsTests {
    /// A safetensors file as the format says: u64 header length, JSON
    /// header, data.
    static func file(header: String, data: [UInt8]) -> Data {
        var bytes = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: Array(header.utf8))
        bytes.append(contentsOf: data)
        return bytes
    }

    static func littleEndian(_ floats: [Float]) -> [UInt8] {
        floats.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
    }

    static func littleEndian(_ halves: [UInt16]) -> [UInt8] {
        halves.flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } }
    }

    func write(_ data: Data) throws -> (URL, URL) {
        let directory = try TestModel.temporaryDirectory()
        let url = directory.appendingPathComponent("model.safetensors")
        try data.write(to: url)
        return (directory, url)
    }

    func message(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test func readsFloat32AndFloat16() throws {
        let f32: [Float] = [1.5, -2.25, 3e-20, 1e30, 0, -0.0]
        // 1, -2, 0.5, 65504 (largest), 2^-24 (smallest subnormal), 2^-14
        // (smallest normal), +inf, a subnormal 3·2^-24.
        let f16: [UInt16] = [0x3C00, 0xC000, 0x3800, 0x7BFF, 0x0001, 0x0400, 0x7C00, 0x0003]
        let header =
            #"{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"#
            + #""h":{"dtype":"F16","shape":[8],"data_offsets":[24,40]}}"#
        let (directory, url) = try write(
            Self.file(header: header, data: Self.littleEndian(f32) + Self.littleEndian(f16)))
        defer { try? FileManager.default.removeItem(at: directory) }

        let tensors = try SafeTensors(path: url.path)
        #expect(tensors.entries["a"]?.shape == [2, 3])
        #expect(tensors.entries["a"]?.dtype == .f32)
        #expect(tensors.entries["h"]?.dtype == .f16)
        let a = try tensors.floats("a")
        defer { a.deallocate() }
        #expect(Array(a) == f32)
        let h = try tensors.floats("h")
        defer { h.deallocate() }
        #expect(Array(h) == [1, -2, 0.5, 65504, 0x1p-24, 0x1p-14, .infinity, 3 * 0x1p-24])
    }

    @Test func truncatedFileIsRefusedWithItsSize() throws {
        let header = #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#
        let (directory, url) = try write(Self.file(header: header, data: Self.littleEndian([1, 2, 3] as [Float])))
        defer { try? FileManager.default.removeItem(at: directory) }
        let text = message { _ = try SafeTensors(path: url.path) }
        #expect(text.contains("truncated: tensor \"a\" ends at byte"), "\(text)")
    }

    @Test func headerLongerThanTheFileIsRefused() throws {
        var data = Self.file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])
        data = data.prefix(20)
        let (directory, url) = try write(data)
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(message { _ = try SafeTensors(path: url.path) }.contains("truncated: the header needs"))
    }

    @Test func byteRangeThatDisagreesWithTheShapeIsRefused() throws {
        let header = #"{"a":{"dtype":"F16","shape":[4],"data_offsets":[0,16]}}"#
        let (directory, url) = try write(Self.file(header: header, data: [UInt8](repeating: 0, count: 16)))
        defer { try? FileManager.default.removeItem(at: directory) }
        let text = message { _ = try SafeTensors(path: url.path) }
        #expect(text.contains("holds 16 bytes, its shape [4] of F16 needs 8"), "\(text)")
    }

    @Test func notSafetensorsIsRefused() throws {
        let (directory, url) = try write(Data("pickle? no, just some bytes here".utf8))
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(message { _ = try SafeTensors(path: url.path) }.contains("not a safetensors file"))
    }
}
