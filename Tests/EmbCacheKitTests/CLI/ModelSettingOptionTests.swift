import ArgumentParser
import Testing

@testable import EmbCacheCLI
@testable import EmbCacheCore
@testable import EmbCacheProviders

/// Every model setting is an option of the filter, with the file key's
/// name, range and meaning: what the table promises, through the real
/// argument parser.
@Suite struct ModelSettingOptionTests {
    /// A value in range of each kind, as an option and as the file holds it.
    private static func valid(_ kind: ModelSetting.Kind) -> (argument: String, value: TOMLValue) {
        switch kind {
        case .string: ("some-value", .string("some-value"))
        case .count: ("3", .integer(3))
        case .countOrZero: ("0", .integer(0))
        case .seconds: ("1.5", .float(1.5))
        case .truncate: ("END", .string("END"))
        }
    }

    /// Settings with an option of their own: `--model` names the file's
    /// entry instead of standing in for its `model`.
    static let options = ModelSetting.allCases.filter { $0 != .model }

    @Test(arguments: options)
    func theOptionGivesTheSetting(_ setting: ModelSetting) throws {
        let (argument, value) = Self.valid(setting.kind)
        let options = try FilterCommand.parse(["--model", "m", "--\(setting.key)", argument]).options
        #expect(options.flag(setting) == value)
        for other in Self.options where other != setting {
            #expect(options.flag(other) == nil, "--\(setting.key) also set \(other.key)")
        }
        // The option wins over the file's entry, whose value reads the same.
        let settings = ProviderSettings(flags: options, named: NamedModel(name: "m", settings: [setting: value]))
        #expect(settings.value(setting) == value)
        let fromFile = ProviderSettings(
            flags: try FilterCommand.parse(["--model", "m"]).options,
            named: NamedModel(name: "m", settings: [setting: value]))
        #expect(fromFile.value(setting) == value)
        #expect(!fromFile.isFlag(setting) && settings.isFlag(setting))
    }

    @Test(arguments: options.filter { $0.kind != .string && $0.kind != .truncate })
    func anOptionOutOfRangeIsRefusedAsTheFileIs(_ setting: ModelSetting) {
        let below = setting.kind == .countOrZero ? "-1" : "0"
        #expect(setting.kind.accepts(setting.kind == .seconds ? .float(0) : .integer(Int64(below)!)) == false)
        #expect {
            try FilterCommand.parse(["--model", "m", "--\(setting.key)=\(below)"])
        } throws: { error in
            FilterCommand.message(for: error) == "--\(setting.key) must be \(setting.kind.optionRange)"
        }
    }

    @Test func everySettingIsInTheHelp() {
        let help = FilterCommand.helpMessage(columns: 1000)
        for setting in ModelSetting.allCases {
            #expect(help.contains("--\(setting.key) <\(setting.help.valueName)>"), "\(setting.key)")
            #expect(help.contains(setting.help.text), "\(setting.key)")
        }
    }
}
