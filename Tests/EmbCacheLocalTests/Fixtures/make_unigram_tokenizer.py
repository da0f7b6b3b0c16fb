# Makes Fixtures/unigram/tokenizer.json (and unigram-bytes/, the same with
# byte fallback, set in the converted file) and unigram-ids.jsonl: a SentencePiece unigram model
# trained on text made here, converted by transformers' XLM-R fast
# tokenizer (so the file has a real Precompiled normalizer), and the ids
# Hugging Face `tokenizers` gives for hard texts. Not run by the tests:
#   python3 -m venv v && v/bin/pip install sentencepiece==0.2.3 \
#     tokenizers==0.23.3 transformers==5.23.0 protobuf==7.36.2
#   v/bin/python make_unigram_tokenizer.py
import json, os, random, tempfile
import sentencepiece as spm
from tokenizers import Tokenizer
from transformers import XLMRobertaTokenizerFast

here = os.path.dirname(os.path.abspath(__file__))
MAX_LENGTH = 64

random.seed(18)
syllables = {
    "latin": "ka to ri mé na lu sé pa ço ñe ü ba der die das und über straße café naïve résumé".split(),
    "greek": "κα λη με ρα σου το ελ λη νι κά λό γος άν θρω πος".split(),
    "cyrillic": "при вет мир до бро е ут ро кни га язык рус ский".split(),
    "arabic": "مر حبا بال عا لم ال كتا ب لغة عر بية".split(),
    "thai": "สวัสดี ครับ ภาษา ไทย โลก หนังสือ".split(),
    "cjk": "日本 語 中文 文本 東京 学生 漢字 的 是 한국 어".split(),
    "emoji": ["😀", "👍🏽", "👨‍👩‍👧", "🇫🇷", "❤️"],
}
def line():
    words = []
    for _ in range(random.randint(4, 14)):
        kind = random.choice(list(syllables))
        words.append("".join(random.choice(syllables[kind]) for _ in range(random.randint(1, 3))))
    return " ".join(words) + random.choice([".", "!", "?", ",", ""])
lines = [line() for _ in range(4000)]
# Some lines in NFD, so the trainer sees combining accents as written.
import unicodedata
lines += [unicodedata.normalize("NFD", l) for l in lines[:300]]

def build(directory, byte_fallback):
    os.makedirs(directory, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        corpus = os.path.join(work, "corpus.txt")
        with open(corpus, "w") as f:
            f.write("\n".join(lines) + "\n")
        prefix = os.path.join(work, "spm")
        spm.SentencePieceTrainer.train(
            input=corpus, model_prefix=prefix, model_type="unigram", vocab_size=2000,
            character_coverage=0.995, byte_fallback=byte_fallback, num_threads=1,
            # XLM-R's own SentencePiece ids: <unk> 0, <s> 1, </s> 2,
            # which the converter moves as fairseq did.
            unk_id=0, bos_id=1, eos_id=2, pad_id=-1, minloglevel=2)
        os.makedirs(work + "/spm-dir")
        os.rename(prefix + ".model", work + "/spm-dir/sentencepiece.bpe.model")
        tokenizer = XLMRobertaTokenizerFast.from_pretrained(work + "/spm-dir", model_max_length=MAX_LENGTH)
        tokenizer.save_pretrained(work + "/out")
        with open(work + "/out/tokenizer.json") as f:
            data = json.load(f)
    # The converter leaves byte_fallback false even for a model trained
    # with its <0xNN> pieces; the bytes copy asks for it.
    data["model"]["byte_fallback"] = byte_fallback
    with open(os.path.join(directory, "tokenizer.json"), "w") as f:
        json.dump(data, f, ensure_ascii=False, separators=(",", ":"))
    return Tokenizer.from_file(os.path.join(directory, "tokenizer.json"))

texts = [
    "hello world",
    "",
    " ",
    "   leading and trailing   ",
    "runs   of\t\tspaces\n\nand\r\nlines",
    "café naïve résumé straße Ångström",
    "cafe\u0301 nai\u0308ve re\u0301sume\u0301 A\u030angstro\u0308m",
    "e\u0301 decomposed and \u00e9 composed, o\u0308\u0304 two marks",
    "Καλημέρα κόσμε, ΣΟΦΟΣ σοφός",
    "Привет, мир! Ёжик в тумане.",
    "مرحبا بالعالم، هذا نص عربي.",
    "สวัสดีครับ ภาษาไทยไม่มีช่องว่าง",
    "日本語のテキストと中文文本，東京。",
    "한국어 텍스트",
    "emoji 😀 👍🏽 👨‍👩‍👧 🇫🇷 ❤️ in text",
    "👩🏽‍💻👨‍👨‍👧‍👦",
    "control\x00chars\x07and\x1bescape\x7fdel",
    "line\u2028separator\u2029paragraph\x85nel\x0bvt\x0cff",
    "zero\u200bwidth\u200djoiner\ufeffbom\u00adsoft",
    "hello\u0378world and \U0002fffe plane two \uffff",
    "unassigned \U0002a6e0 \U0002b81f \ufaff private \ue000",
    "ＡＢＣ ｆｕｌｌ－ｗｉｄｔｈ １２３ ｶﾀｶﾅ ﬁ ligature ① ㍻",
    "``quoted'' and \"plain\" quotes",
    "<s> written </s> in the <mask> text<pad>x <unk>y",
    "mathematical 𝐀𝐁𝐂 𝔸 and ∑∫√ ™",
    "Rare CJK 𠀀𠀁 ext B and 〇",
    "x" * 300,
    " ".join(["καλημέρα"] * 80),
    " ".join(str(i) for i in range(200)),
    "ZYXWVQ jjjj qqqq zzzz",
    "tab\tseparated\tvalues",
    "\u3000ideographic\u3000space\u3000",
    "\u0e01\u0e34\u0e4a\u0e4b stacked Thai marks",
    "a\u0300\u0301\u0302\u0303\u0304\u0305 many marks",
    "\u1100\u1161\u11a8 conjoining jamo",
]
texts += lines[:40]
texts += [unicodedata.normalize("NFD", l) for l in lines[4000:4010]]

with open(os.path.join(here, "unigram-ids.jsonl"), "w") as out:
    for name, fallback in (("unigram", False), ("unigram-bytes", True)):
        tok = build(os.path.join(here, name), fallback)
        tok.enable_truncation(MAX_LENGTH)
        tok.no_padding()
        for text in texts:
            out.write(json.dumps({"tokenizer": name, "text": text, "ids": tok.encode(text).ids},
                                 ensure_ascii=False) + "\n")
