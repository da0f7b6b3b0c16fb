import Testing

@testable import EmbCacheCore
@testable import EmbCacheProviders

/// The reader against the examples of the TOML 1.0 specification
/// (https://toml.io/en/v1.0.0) and the invalid documents it and toml-test
/// name.
@Suite struct TOMLTests {
    private func parse(_ text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> [String: TOMLValue]
    {
        do {
            return try TOML.parse(text)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
            return [:]
        }
    }

    private func failure(_ text: String) -> TOMLError? {
        do {
            _ = try TOML.parse(text)
            return nil
        } catch {
            return error
        }
    }

    // MARK: - Keys

    @Test func commentsAndBasicPairs() {
        let document = parse(
            """
            # This is a full-line comment
            key = "value"  # This is a comment at the end of a line
            another = "# This is not a comment"
            	indented	=	1	#	tabs are whitespace
            #
            """)
        #expect(
            document == [
                "key": .string("value"), "another": .string("# This is not a comment"), "indented": .integer(1),
            ])
    }

    @Test func bareAndQuotedKeys() {
        let document = parse(
            """
            key = "value"
            bare_key = "value"
            bare-key = "value"
            1234 = "value"
            "127.0.0.1" = "value"
            "character encoding" = "value"
            "ʎǝʞ" = "value"
            'key2' = "value"
            'quoted "value"' = "value"
            "" = "blank"
            "a\\tb" = "escaped"
            """)
        #expect(
            Set(document.keys)
                == [
                    "key", "bare_key", "bare-key", "1234", "127.0.0.1", "character encoding", "ʎǝʞ", "key2",
                    "quoted \"value\"", "", "a\tb",
                ])
        #expect(document[""] == .string("blank"))
    }

    @Test func dottedKeysMakeTables() {
        let document = parse(
            """
            name = "Orange"
            physical.color = "orange"
            physical.shape = "round"
            site."google.com" = true
            fruit.name = "banana"     # this is best practice
            fruit. color = "yellow"    # same as fruit.color
            fruit . flavor = "banana"   # same as fruit.flavor
            3.14159 = "pi"
            """)
        #expect(
            document == [
                "name": .string("Orange"),
                "physical": .table(["color": .string("orange"), "shape": .string("round")]),
                "site": .table(["google.com": .boolean(true)]),
                "fruit": .table(["name": .string("banana"), "color": .string("yellow"), "flavor": .string("banana")]),
                "3": .table(["14159": .string("pi")]),
            ])
    }

    @Test func dottedKeysAddToTablesTheyCreated() {
        let document = parse(
            """
            fruit.apple.smooth = true
            fruit.orange = 2
            apple.type = "fruit"
            orange.type = "fruit"
            apple.skin = "thin"
            """)
        #expect(
            document == [
                "fruit": .table(["apple": .table(["smooth": .boolean(true)]), "orange": .integer(2)]),
                "apple": .table(["type": .string("fruit"), "skin": .string("thin")]),
                "orange": .table(["type": .string("fruit")]),
            ])
    }

    // MARK: - Strings

    @Test func basicStringEscapes() {
        let document = parse(
            #"""
            str = "I'm a string. \"You can quote me\". Name\tJos\u00E9\nLocation\tSF."
            all = "\b\t\n\f\r\"\\"
            wide = "\U0001F600 \u00e9"
            tab = "a	b"
            """#)
        #expect(document["str"] == .string("I'm a string. \"You can quote me\". Name\tJosé\nLocation\tSF."))
        #expect(document["all"] == .string("\u{08}\t\n\u{0C}\r\"\\"))
        #expect(document["wide"] == .string("😀 é"))
        #expect(document["tab"] == .string("a\tb"))
    }

    @Test func literalStrings() {
        let document = parse(
            #"""
            winpath  = 'C:\Users\nodejs\templates'
            winpath2 = '\\ServerX\admin$\system32\'
            quoted   = 'Tom "Dubs" Preston-Werner'
            regex    = '<\i\c*\s*>'
            empty    = ''
            """#)
        #expect(document["winpath"] == .string(#"C:\Users\nodejs\templates"#))
        #expect(document["winpath2"] == .string(#"\\ServerX\admin$\system32\"#))
        #expect(document["quoted"] == .string(#"Tom "Dubs" Preston-Werner"#))
        #expect(document["regex"] == .string(#"<\i\c*\s*>"#))
        #expect(document["empty"] == .string(""))
    }

    @Test func multiLineBasicStrings() {
        let document = parse(
            #"""
            str1 = """
            Roses are red
            Violets are blue"""
            same1 = "The quick brown fox jumps over the lazy dog."
            same2 = """
            The quick brown \


              fox jumps over \
                the lazy dog."""
            same3 = """\
                   The quick brown \
                   fox jumps over \
                   the lazy dog.\
                   """
            trailing = """a \  
            b"""
            str4 = """Here are two quotation marks: "". Simple enough."""
            str5 = """Here are three quotation marks: ""\"."""
            str6 = """Here are fifteen quotation marks: ""\"""\"""\"""\"""\"."""
            str7 = """"This," she said, "is just a pointless statement.""""
            escapes = """\tx\u0041"""
            """#)
        #expect(document["str1"] == .string("Roses are red\nViolets are blue"))
        #expect(document["same2"] == document["same1"])
        #expect(document["same3"] == document["same1"])
        #expect(document["trailing"] == .string("a b"))
        #expect(document["str4"] == .string(#"Here are two quotation marks: "". Simple enough."#))
        #expect(document["str5"] == .string(#"Here are three quotation marks: """."#))
        #expect(document["str6"] == .string(#"Here are fifteen quotation marks: """""""""""""""."#))
        #expect(document["str7"] == .string(#""This," she said, "is just a pointless statement.""#))
        #expect(document["escapes"] == .string("\txA"))
    }

    @Test func multiLineLiteralStrings() {
        let document = parse(
            #"""
            regex2 = '''I [dw]on't need \d{2} apples'''
            lines  = '''
            The first newline is
            trimmed in raw strings.
               All other whitespace
               is preserved.
            '''
            quot15 = '''Here are fifteen quotation marks: """""""""""""""'''
            apos15 = "Here are fifteen apostrophes: '''''''''''''''"
            str = ''''That,' she said, 'is still pointless.''''
            backslash = '''no \escapes \'''
            """#)
        #expect(document["regex2"] == .string(#"I [dw]on't need \d{2} apples"#))
        #expect(
            document["lines"]
                == .string("The first newline is\ntrimmed in raw strings.\n   All other whitespace\n   is preserved.\n")
        )
        #expect(
            document["quot15"] == .string("Here are fifteen quotation marks: " + String(repeating: "\"", count: 15)))
        #expect(document["apos15"] == .string("Here are fifteen apostrophes: '''''''''''''''"))
        #expect(document["str"] == .string("'That,' she said, 'is still pointless.'"))
        #expect(document["backslash"] == .string(#"no \escapes \"#))
    }

    @Test func crlfLineEndingsReadAsLF() {
        let document = parse(
            "a = 1\r\nb = \"\"\"\r\nx\r\ny\"\"\"\r\nc = '''p\r\nq'''  # end\r\n[t]\r\nd = [\r\n1,\r\n]\r\n")
        #expect(
            document == [
                "a": .integer(1), "b": .string("x\ny"), "c": .string("p\nq"),
                "t": .table(["d": .array([.integer(1)])]),
            ])
    }

    @Test func byteOrderMarkAndEmptyDocuments() {
        #expect(parse("\u{FEFF}a = 1") == ["a": .integer(1)])
        #expect(parse("").isEmpty)
        #expect(parse("\n\n  # only a comment\n").isEmpty)
    }

    // MARK: - Numbers and booleans

    @Test func integers() {
        let document = parse(
            """
            int1 = +99
            int2 = 42
            int3 = 0
            int4 = -17
            int5 = 1_000
            int6 = 5_349_221
            int7 = 53_49_221
            int8 = 1_2_3_4_5
            zero1 = -0
            zero2 = +0
            hex1 = 0xDEADBEEF
            hex2 = 0xdeadbeef
            hex3 = 0xdead_beef
            hex4 = 0x00ff
            oct1 = 0o01234567
            oct2 = 0o755
            bin1 = 0b11010110
            max = 9223372036854775807
            min = -9223372036854775808
            hexmax = 0x7FFF_FFFF_FFFF_FFFF
            """)
        let expected: [String: Int64] = [
            "int1": 99, "int2": 42, "int3": 0, "int4": -17, "int5": 1000, "int6": 5_349_221, "int7": 5_349_221,
            "int8": 12345, "zero1": 0, "zero2": 0, "hex1": 0xDEAD_BEEF, "hex2": 0xDEAD_BEEF, "hex3": 0xDEAD_BEEF,
            "hex4": 255, "oct1": 0o1234567, "oct2": 0o755, "bin1": 0b1101_0110, "max": .max, "min": .min,
            "hexmax": .max,
        ]
        #expect(document == expected.mapValues(TOMLValue.integer))
    }

    @Test func floats() {
        let document = parse(
            """
            flt1 = +1.0
            flt2 = 3.1415
            flt3 = -0.01
            flt4 = 5e+22
            flt5 = 1e06
            flt6 = -2E-2
            flt7 = 6.626e-34
            flt8 = 224_617.445_991_228
            flt9 = 0.0
            flt10 = 1e1_0
            sf1 = inf
            sf2 = +inf
            sf3 = -inf
            negative-zero = -0.0
            """)
        let expected: [String: Double] = [
            "flt1": 1, "flt2": 3.1415, "flt3": -0.01, "flt4": 5e22, "flt5": 1e6, "flt6": -0.02, "flt7": 6.626e-34,
            "flt8": 224_617.445_991_228, "flt9": 0, "flt10": 1e10, "sf1": .infinity, "sf2": .infinity,
            "sf3": -.infinity, "negative-zero": -0.0,
        ]
        #expect(document == expected.mapValues(TOMLValue.float))
        if case .float(let zero) = document["negative-zero"] { #expect(zero.sign == .minus) }
    }

    @Test(arguments: ["nan", "+nan", "-nan"])
    func notANumber(_ literal: String) {
        guard case .float(let value) = parse("sf = \(literal)")["sf"] else {
            Issue.record("not a float")
            return
        }
        #expect(value.isNaN)
    }

    @Test func booleans() {
        #expect(parse("bool1 = true\nbool2 = false") == ["bool1": .boolean(true), "bool2": .boolean(false)])
    }

    // MARK: - Arrays

    @Test func arrays() {
        let document = parse(
            """
            integers = [ 1, 2, 3 ]
            colors = [ "red", "yellow", "green" ]
            nested_arrays_of_ints = [ [ 1, 2 ], [3, 4, 5] ]
            nested_mixed_array = [ [ 1, 2 ], ["a", "b", "c"] ]
            string_array = [ "all", 'strings', \"\"\"are the same\"\"\", '''type''' ]
            numbers = [ 0.1, 0.2, 0.5, 1, 2, 5 ]
            contributors = [
              "Foo Bar <foo@example.com>",
              { name = "Baz Qux", email = "bazqux@example.com", url = "https://example.com/bazqux" }
            ]
            integers2 = [
              1, 2, 3
            ]
            integers3 = [
              1,
              2, # this is ok
            ]
            empty = []
            blank = [ # nothing

            ]
            """)
        #expect(document["integers"] == .array([.integer(1), .integer(2), .integer(3)]))
        #expect(document["colors"] == .array([.string("red"), .string("yellow"), .string("green")]))
        #expect(
            document["nested_arrays_of_ints"]
                == .array([.array([.integer(1), .integer(2)]), .array([.integer(3), .integer(4), .integer(5)])]))
        #expect(
            document["nested_mixed_array"]
                == .array([.array([.integer(1), .integer(2)]), .array([.string("a"), .string("b"), .string("c")])]))
        #expect(document["string_array"] == .array(["all", "strings", "are the same", "type"].map(TOMLValue.string)))
        #expect(
            document["numbers"]
                == .array([.float(0.1), .float(0.2), .float(0.5), .integer(1), .integer(2), .integer(5)]))
        #expect(
            document["contributors"]
                == .array([
                    .string("Foo Bar <foo@example.com>"),
                    .table([
                        "name": .string("Baz Qux"), "email": .string("bazqux@example.com"),
                        "url": .string("https://example.com/bazqux"),
                    ]),
                ]))
        #expect(document["integers2"] == document["integers"])
        #expect(document["integers3"] == .array([.integer(1), .integer(2)]))
        #expect(document["empty"] == .array([]))
        #expect(document["blank"] == .array([]))
    }

    // MARK: - Tables

    @Test func tables() {
        let document = parse(
            """
            [table-1]
            key1 = "some string"
            key2 = 123

            [table-2]
            key1 = "another string"
            key2 = 456

            [dog."tater.man"]
            type.name = "pug"

            [ j . "ʞ" . 'l' ]
            [empty]
            """)
        #expect(
            document == [
                "table-1": .table(["key1": .string("some string"), "key2": .integer(123)]),
                "table-2": .table(["key1": .string("another string"), "key2": .integer(456)]),
                "dog": .table(["tater.man": .table(["type": .table(["name": .string("pug")])])]),
                "j": .table(["ʞ": .table(["l": .table([:])])]),
                "empty": .table([:]),
            ])
    }

    @Test func superTablesMayBeDefinedAfterTheirChildren() {
        let document = parse(
            """
            [x.y.z.w] # for this to work
            [x] # defining a super-table afterward is ok
            a = 1
            [fruit.apple]
            [animal]
            [fruit.orange]
            """)
        #expect(
            document == [
                "x": .table(["y": .table(["z": .table(["w": .table([:])])]), "a": .integer(1)]),
                "fruit": .table(["apple": .table([:]), "orange": .table([:])]),
                "animal": .table([:]),
            ])
    }

    @Test func headersMayAddSubTablesToDottedTables() {
        let document = parse(
            """
            [fruit]
            apple.color = "red"
            apple.taste.sweet = true

            [fruit.apple.texture]  # you can add sub-tables
            smooth = true
            """)
        #expect(
            document == [
                "fruit": .table([
                    "apple": .table([
                        "color": .string("red"), "taste": .table(["sweet": .boolean(true)]),
                        "texture": .table(["smooth": .boolean(true)]),
                    ])
                ])
            ])
    }

    /// toml-lang/toml#771: dotted keys may define a table a header only
    /// named on its way.
    @Test func dottedKeysMayDefineTablesHeadersOnlyNamed() {
        let document = parse(
            """
            [fruit.apple.texture]
            smooth = true
            [fruit]
            apple.color = "red"
            """)
        #expect(
            document == [
                "fruit": .table([
                    "apple": .table(["texture": .table(["smooth": .boolean(true)]), "color": .string("red")])
                ])
            ])
    }

    @Test func rootKeysComeBeforeTheFirstHeader() {
        let document = parse(
            """
            name = "Fido"
            breed = "pug"

            [owner]
            name = "Regina Dogman"
            """)
        #expect(
            document == [
                "name": .string("Fido"), "breed": .string("pug"), "owner": .table(["name": .string("Regina Dogman")]),
            ])
    }

    // MARK: - Inline tables

    @Test func inlineTables() {
        let document = parse(
            """
            name = { first = "Tom", last = "Preston-Werner" }
            point = { x = 1, y = 2 }
            animal = { type.name = "pug" }
            mixed = { a = 1, b.c = "x", d = { e = [1, { f = true }] } }
            empty = {}
            spaced = {   }
            points = [ { x = 1, y = 2, z = 3 },
                       { x = 7, y = 8, z = 9 },
                       { x = 2, y = 4, z = 8 } ]
            multi = { s = \"\"\"two
            lines\"\"\" }
            """)
        #expect(document["name"] == .table(["first": .string("Tom"), "last": .string("Preston-Werner")]))
        #expect(document["point"] == .table(["x": .integer(1), "y": .integer(2)]))
        #expect(document["animal"] == .table(["type": .table(["name": .string("pug")])]))
        #expect(
            document["mixed"]
                == .table([
                    "a": .integer(1), "b": .table(["c": .string("x")]),
                    "d": .table(["e": .array([.integer(1), .table(["f": .boolean(true)])])]),
                ]))
        #expect(document["empty"] == .table([:]))
        #expect(document["spaced"] == .table([:]))
        guard case .array(let points) = document["points"] else {
            Issue.record("points is not an array")
            return
        }
        #expect(points.count == 3)
        #expect(points[1] == .table(["x": .integer(7), "y": .integer(8), "z": .integer(9)]))
        #expect(document["multi"] == .table(["s": .string("two\nlines")]))
    }

    @Test func inlineTablesEqualTheirStandardForm() {
        let inline = parse(
            """
            name = { first = "Tom", last = "Preston-Werner" }
            point = { x = 1, y = 2 }
            animal = { type.name = "pug" }
            """)
        let standard = parse(
            """
            [name]
            first = "Tom"
            last = "Preston-Werner"

            [point]
            x = 1
            y = 2

            [animal]
            type.name = "pug"
            """)
        #expect(inline == standard)
    }

    // MARK: - Arrays of tables

    @Test func arraysOfTables() {
        let document = parse(
            """
            [[products]]
            name = "Hammer"
            sku = 738594937

            [[products]]  # empty table within the array

            [[products]]
            name = "Nail"
            sku = 284758393

            color = "gray"
            """)
        #expect(
            document == [
                "products": .array([
                    .table(["name": .string("Hammer"), "sku": .integer(738_594_937)]),
                    .table([:]),
                    .table(["name": .string("Nail"), "sku": .integer(284_758_393), "color": .string("gray")]),
                ])
            ])
    }

    @Test func nestedArraysOfTablesReferToTheLastElement() {
        let document = parse(
            """
            [[fruits]]
            name = "apple"

            [fruits.physical]  # subtable
            color = "red"
            shape = "round"

            [[fruits.varieties]]  # nested array of tables
            name = "red delicious"

            [[fruits.varieties]]
            name = "granny smith"

            [[fruits]]
            name = "banana"

            [[fruits.varieties]]
            name = "plantain"
            """)
        #expect(
            document == [
                "fruits": .array([
                    .table([
                        "name": .string("apple"),
                        "physical": .table(["color": .string("red"), "shape": .string("round")]),
                        "varieties": .array([
                            .table(["name": .string("red delicious")]), .table(["name": .string("granny smith")]),
                        ]),
                    ]),
                    .table(["name": .string("banana"), "varieties": .array([.table(["name": .string("plantain")])])]),
                ])
            ])
    }

    /// toml-test valid/table/array-within-dotted.
    @Test func arrayOfTablesWithinADottedTable() {
        let document = parse(
            """
            [fruit]
            apple.color = "red"

            [[fruit.apple.seeds]]
            size = 2
            """)
        #expect(
            document == [
                "fruit": .table([
                    "apple": .table(["color": .string("red"), "seeds": .array([.table(["size": .integer(2)])])])
                ])
            ])
    }

    // MARK: - Errors

    /// Each invalid document with the line and message of its error.
    @Test(arguments: [
        // Pairs
        ("key = # INVALID", 1, "missing value"),
        ("key =", 1, "missing value"),
        ("a = 1\nkey\nb = 2", 2, #"expected "=" after the key key, found end of line"#),
        ("key", 1, #"expected "=" after the key key, found end of file"#),
        ("key \"x\"", 1, #"expected "=" after the key key, found '"'"#),
        (#"first = "Tom" last = "Preston-Werner" # INVALID"#, 1, #"unexpected "l" after the value"#),
        ("a = 1 2", 1, #"unexpected "2" after the value"#),
        ("a = [1] ]", 1, #"unexpected "]" after the value"#),
        (#"= "no key name"  # INVALID"#, 1, #"missing key before "=""#),
        ("a. = 1", 1, #"missing key before "=""#),
        ("a..b = 1", 1, #"expected a key, found ".""#),
        ("@ = 1", 1, #"expected a key, found "@""#),
        ("\"\"\"key\"\"\" = 1", 1, "a multi-line string cannot be a key"),
        ("a = 1\r", 1, "unexpected U+000D after the value"),
        ("a = 1 # bell\u{07}", 1, "control character U+0007 in a comment"),
        ("# delete\u{7F}", 1, "control character U+007F in a comment"),
        ("a = 1\n# carriage\rreturn", 2, "control character U+000D in a comment"),
        ("a = @", 1, #"expected a value, found "@""#),
        ("a = True", 1, "invalid value True"),
        ("a = yes", 1, "invalid value yes"),
        ("a = fruit.apple", 1, "invalid value fruit.apple"),
        // Duplicate keys
        ("name = \"Tom\"\nname = \"Pradyun\"", 2, "key name is defined twice"),
        ("spelling = \"favorite\"\n\"spelling\" = \"favourite\"", 2, "key spelling is defined twice"),
        ("[t]\na.b = 1\na.b = 2", 3, "key t.a.b is defined twice"),
        ("a = { b = 1, b = 2 }", 1, "key b is defined twice"),
        ("'a b' = 1\n\"a b\" = 2", 2, #"key "a b" is defined twice"#),
        ("fruit.apple = 1\nfruit.apple.smooth = true", 2, "fruit.apple is already an integer, not a table"),
        ("a = [\n1,\n2]\na = 3", 4, "key a is defined twice"),
        // Tables
        ("[fruit]\napple = \"red\"\n\n[fruit]\norange = \"orange\"", 4, "table [fruit] is defined twice"),
        (
            "[fruit]\napple = \"red\"\n\n[fruit.apple]\ntexture = \"smooth\"", 4,
            "fruit.apple is already a string, not a table"
        ),
        ("[a]\n[a.b]\n[a]", 3, "table [a] is defined twice"),
        ("[fruit]\napple.color = \"red\"\n[fruit.apple]", 3, "table [fruit.apple] is already defined by dotted keys"),
        (
            "[fruit]\napple.taste.sweet = true\n[fruit.apple.taste]", 3,
            "table [fruit.apple.taste] is already defined by dotted keys"
        ),
        ("a.b = 1\n[a]", 2, "table [a] is already defined by dotted keys"),
        ("[a.b.c]\nz = 9\n[a]\nb.c.t = 1", 4, "table [a.b.c] has a header; dotted keys cannot add to it"),
        ("[a.b.c.d]\nz = 9\n[a]\nb.c.d.k.t = 1", 4, "table [a.b.c.d] has a header; dotted keys cannot add to it"),
        ("[a.b]\n[a]\nb = 1", 3, "key a.b is defined twice"),
        ("[\"a\"]\n[a]", 2, "table [a] is defined twice"),
        ("a = 1\n[a.b]", 2, "a is already an integer, not a table"),
        ("[]", 1, #"expected a key, found "]""#),
        ("[a", 1, #"expected "]" after the table name, found end of file"#),
        ("[a\nb = 1", 1, #"expected "]" after the table name, found end of line"#),
        ("[a]]", 1, #"unexpected "]" after the table header"#),
        ("[a] b = 1", 1, #"unexpected "b" after the table header"#),
        ("[ [a] ]", 1, #"expected a key, found "[""#),
        // Inline tables
        (
            "[product]\ntype = { name = \"Nail\" }\ntype.edible = false", 3,
            "product.type is an inline table, which cannot be extended"
        ),
        ("[product]\ntype.name = \"Nail\"\ntype = { edible = false }", 3, "key product.type is defined twice"),
        ("a = { b = 1 }\n[a]", 2, "a is an inline table, which cannot be extended"),
        ("a = { b = 1 }\n[a.c]", 2, "a is an inline table, which cannot be extended"),
        ("a = { b = {} }\n[a.b.c]", 2, "a is an inline table, which cannot be extended"),
        (
            "tbl = { fruit = { apple.color = \"red\" }, fruit.apple.texture = { smooth = true } }", 1,
            "fruit is an inline table, which cannot be extended"
        ),
        ("a = { b = 1, }", 1, "trailing comma in an inline table"),
        ("a = { b = 1,\nc = 2 }", 1, "newline in an inline table (inline tables take one line)"),
        ("a = {\n}", 1, "newline in an inline table (inline tables take one line)"),
        ("a = { b = 1\n}", 1, "newline in an inline table (inline tables take one line)"),
        ("a = { b = 1", 1, "unterminated inline table"),
        ("a = { b = 1 c = 2 }", 1, #"expected "," or "}" in the inline table, found "c""#),
        ("a = { b }", 1, #"expected "=" after the key b, found "}""#),
        // Arrays of tables
        (
            "[fruit.physical]\ncolor = \"red\"\n\n[[fruit]]\nname = \"apple\"", 4,
            "[[fruit]]: fruit is already a table, not an array of tables"
        ),
        (
            "fruits = []\n\n[[fruits]] # Not allowed", 3,
            "[[fruits]]: fruits is already an array, not an array of tables"
        ),
        (
            "[[fruits]]\n[[fruits.varieties]]\n[fruits.varieties]", 3,
            "[fruits.varieties] is an array of tables, not a table"
        ),
        (
            "[[fruits]]\n[fruits.physical]\n[[fruits.physical]]", 3,
            "[[fruits.physical]]: fruits.physical is already a table, not an array of tables"
        ),
        ("[[tab.arr]]\n[tab]\narr.val1 = 1", 3, "tab.arr is an array of tables; dotted keys cannot add to it"),
        ("a = [{ b = 1 }]\n[a.c]", 2, "a is already an array, not a table"),
        ("[[a]", 1, #"expected "]]" after the table name, found end of file"#),
        ("[[a] ]", 1, #"expected "]]" after the table name, found U+0020"#),
        // Strings
        (#"a = "\x41""#, 1, #"invalid escape \x"#),
        (#"a = "\e""#, 1, #"invalid escape \e"#),
        (#"a = "\ ""#, 1, #"invalid escape \ followed by U+0020"#),
        (#"a = "\u12""#, 1, #"invalid escape \u: expected 4 hexadecimal digits"#),
        (#"a = "\uD800""#, 1, #"invalid escape \uD800: not a Unicode scalar value"#),
        (#"a = "\U00110000""#, 1, #"invalid escape \U00110000: not a Unicode scalar value"#),
        ("a = \"\"\"\nx\ny \\ z\"\"\"", 3, #"invalid escape \ followed by U+0020"#),
        ("a = \"\\", 1, "unterminated escape at the end of the line"),
        ("a = \"bell\u{07}\"", 1, "control character U+0007 in a string"),
        ("a = 'nul\u{00}'", 1, "control character U+0000 in a string"),
        ("a = \"\"\"x\u{1F}\"\"\"", 1, "control character U+001F in a string"),
        ("a = '''x\u{7F}'''", 1, "control character U+007F in a string"),
        ("a = \"\"\"x\ry\"\"\"", 1, "control character U+000D in a string"),
        ("a = '''x\ry'''", 1, "control character U+000D in a string"),
        ("a = \"abc", 1, "unterminated string"),
        ("a = \"abc\nb = 1", 1, "unterminated string"),
        ("a = 'abc", 1, "unterminated string"),
        ("a = 'abc\n'", 1, "unterminated string"),
        ("x = 1\na = \"\"\"abc\n\ndef", 2, "unterminated multi-line string"),
        ("a = '''abc\n\n", 1, "unterminated multi-line string"),
        ("a = \"\"\"x\"\"\"\"\"\"", 1, #"unexpected '"' after the value"#),
        ("apos15 = '''Here are fifteen apostrophes: ''''''''''''''''''", 1, #"unexpected "'" after the value"#),
        // Arrays
        ("a = [1, 2", 1, "unterminated array"),
        ("a = [\n1,\n2,\n", 1, "unterminated array"),
        ("a = [1 2]", 1, #"expected "," or "]" in the array, found "2""#),
        ("a = [1,,2]", 1, #"expected a value, found ",""#),
        ("a = [,]", 1, #"expected a value, found ",""#),
        ("a = [\n  1,\n  2 3\n]", 3, #"expected "," or "]" in the array, found "3""#),
        // Integers
        ("a = 01", 1, "leading zeros are not allowed in 01"),
        ("a = -01", 1, "leading zeros are not allowed in -01"),
        ("a = 0_0", 1, "leading zeros are not allowed in 0_0"),
        ("a = 00.5", 1, "leading zeros are not allowed in 00.5"),
        ("a = 9223372036854775808", 1, "integer 9223372036854775808 does not fit in 64 bits"),
        ("a = -9223372036854775809", 1, "integer -9223372036854775809 does not fit in 64 bits"),
        ("a = 0x8000000000000000", 1, "integer 0x8000000000000000 does not fit in 64 bits"),
        ("a = +0x1", 1, "a sign is not allowed before 0x in +0x1"),
        ("a = -0b1", 1, "a sign is not allowed before 0b in -0b1"),
        ("a = 0X1F", 1, "invalid value 0X1F"),
        ("a = 0x", 1, "invalid value 0x"),
        ("a = 0xG", 1, "invalid value 0xG"),
        ("a = 0o8", 1, "invalid value 0o8"),
        ("a = 0b102", 1, "invalid value 0b102"),
        ("a = 0x_1", 1, "invalid value 0x_1"),
        ("a = 1__000", 1, "invalid value 1__000"),
        ("a = _1", 1, "invalid value _1"),
        ("a = 1_", 1, "invalid value 1_"),
        ("a = +-1", 1, "invalid value +-1"),
        ("a = 1x", 1, "invalid value 1x"),
        // Floats
        ("invalid_float_1 = .7", 1, "invalid value .7"),
        ("invalid_float_2 = 7.", 1, "invalid value 7."),
        ("invalid_float_3 = 3.e+20", 1, "invalid value 3.e+20"),
        ("a = 1e", 1, "invalid value 1e"),
        ("a = 1e+", 1, "invalid value 1e+"),
        ("a = 1e_1", 1, "invalid value 1e_1"),
        ("a = 1._5", 1, "invalid value 1._5"),
        ("a = 1.5.6", 1, "invalid value 1.5.6"),
        ("a = 1e5.5", 1, "invalid value 1e5.5"),
        ("a = 1.5e", 1, "invalid value 1.5e"),
        ("a = infinity", 1, "invalid value infinity"),
        ("a = Inf", 1, "invalid value Inf"),
        ("a = NaN", 1, "invalid value NaN"),
        ("a = 1e400", 1, "float 1e400 is out of range"),
        ("a = -1_000e1_000", 1, "float -1_000e1_000 is out of range"),
        // Dates and times
        ("odt1 = 1979-05-27T07:32:00Z", 1, "dates and times are not supported"),
        ("odt4 = 1979-05-27 07:32:00Z", 1, "dates and times are not supported"),
        ("ld1 = 1979-05-27", 1, "dates and times are not supported"),
        ("lt1 = 07:32:00", 1, "dates and times are not supported"),
        ("a = [\n  1,\n  1979-05-27,\n]", 3, "dates and times are not supported"),
        ("a = { when = 00:32:00.999999 }", 1, "dates and times are not supported"),
    ])
    func invalidDocument(_ text: String, line: Int, message: String) {
        #expect(failure(text) == TOMLError(line: line, message: message), "\(text)")
    }

    @Test func errorsNameTheLineAfterMultiLineValues() {
        let error = failure(
            """
            a = \"\"\"
            one
            two\"\"\"
            b = [
              1,
            ]
            c = ]
            """)
        #expect(error == TOMLError(line: 7, message: #"expected a value, found "]""#))
        #expect(error?.description == #"line 7: expected a value, found "]""#)
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let arrays = "a = " + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(failure(arrays) == TOMLError(line: 1, message: "values nested more than 100 deep"))
        let tables = "a = " + String(repeating: "{ b = ", count: 10_000) + "1" + String(repeating: " }", count: 10_000)
        #expect(failure(tables) == TOMLError(line: 1, message: "values nested more than 100 deep"))
        let key = Array(repeating: "k", count: 10_000).joined(separator: ".") + " = 1"
        #expect(failure(key) == TOMLError(line: 1, message: "key with more than 100 parts"))
    }

    @Test func typeNames() {
        #expect(TOMLValue.string("").typeName == "a string")
        #expect(TOMLValue.integer(1).typeName == "an integer")
        #expect(TOMLValue.float(1).typeName == "a float")
        #expect(TOMLValue.boolean(true).typeName == "a boolean")
        #expect(TOMLValue.array([]).typeName == "an array")
        #expect(TOMLValue.table([:]).typeName == "a table")
    }
}
