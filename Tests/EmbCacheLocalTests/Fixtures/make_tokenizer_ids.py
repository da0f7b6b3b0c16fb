# Generated once with Hugging Face `tokenizers` 0.23.3 (pip) from the
# all-MiniLM-L6-v2 tokenizer.json, truncation at 256 tokens as its
# sentence_bert_config.json says; not run by the tests.
import json, sys
from tokenizers import Tokenizer
model = sys.argv[1]
tok = Tokenizer.from_file(model + "/tokenizer.json")
tok.enable_truncation(256)
tok.no_padding()
texts = [json.loads(l)["text"] for l in open(sys.argv[2])]
texts += [
    "Hello, World!!! How are you?",
    "UPPER lower MiXeD CaSe",
    "naïve façade coöperate résumé Ångström",
    "e\u0301 decomposed and \u00e9 composed",
    "ﬁ ligature, ① circled, ＡＢＣ fullwidth",
    "日本語とカタカナとひらがな",
    "한국어 텍스트",
    "中文，标点。符号！",
    "Ελληνικά κείμενο ΣΟΦΟΣ",
    "العربية نص",
    "עברית",
    "हिन्दी पाठ",
    "zero\u200bwidth\u200djoiner\ufeffbom",
    "control\x00chars\x07and\x1bescape\x7fdel",
    "line\u2028separator\u2029paragraph\x85nel\x0bvt\x0cff",
    "price: $3.50 + 20% = ~$4.20 (approx.) #hash @user ^caret `tick`",
    "em—dash en–dash «guillemets» „quotes“ ‘single’ …ellipsis",
    "unknownword" * 12,
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "emoji 😀😃 👍🏽 👨‍👩‍👧 in text",
    "http://example.com/path?query=1&b=2#frag",
    "user@example.com wrote: 'it's done'",
    "tab\tseparated\tvalues\r\nwindows line",
    "   ",
    "ﬀ İstanbul ǅ ß ẞ",
    "\ufffdreplacement char",
    "mathematical 𝐀𝐁𝐂 𝔸 and ∑∫√",
    "Rare CJK 𠀀𠀁 ext B and 〇",
    " ".join(str(i) for i in range(400)),
    "[CLS] written [SEP] in the [MASK] text[PAD]x [UNK]y [unk] [ CLS ] [[SEP]]",
    "ÜBER [MASK]ed Straße",
    # Unassigned code points are kept (and make [UNK]), not deleted as
    # control characters: HF's clean-up removes only Cc, Cf, Co and Cs.
    "hello\u0378world",
    "non\ufffecharacters\uffff and \U0002fffe plane two",
    "unassigned in CJK blocks \U0002a6e0 \U0002b81f \U0002ceaf \ufaff end",
    # CJK Extension E from U+2B820 to U+2B91F is not split as Chinese by
    # HF (its range starts at U+2B920); from U+2B920 on it is.
    "ext E \U0002b820\U0002b821x\U0002b91f \U0002b920\U0002b921y",
    # Format characters of later Unicode versions than HF's tables.
    "arabic\u0890\u0891pound \U00013430egyptian \u08e2end",
]
with open(sys.argv[3], "w") as out:
    for text in texts:
        out.write(json.dumps({"text": text, "ids": tok.encode(text).ids}, ensure_ascii=False) + "\n")
