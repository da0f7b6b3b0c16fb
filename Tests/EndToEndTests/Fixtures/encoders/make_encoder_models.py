# Makes the small XLM-RoBERTa, BERT-with-SentencePiece and MPNet models the
# local provider's parity tests run, with random weights, and the vectors
# sentence-transformers gives for texts.jsonl under each pooling the tests
# try (expected.jsonl); also MPNet's relative position buckets as HF
# transformers computes them (Tests/EmbCacheLocalTests/Fixtures/
# mpnet-buckets.json). Not run by the tests:
#   python3 -m venv v && v/bin/pip install torch==2.13.0 \
#     sentence-transformers==6.2.0 transformers==5.23.0 tokenizers==0.23.3 \
#     sentencepiece==0.2.3 protobuf==7.36.2
#   v/bin/python make_encoder_models.py
# (torch: the CPU wheel, from PyPI or a local wheel file.) Each model
# directory holds config.json, model.safetensors, sentence_bert_config.json,
# tokenizer_config.json (which only sentence-transformers reads) and, for
# MPNet, its WordPiece tokenizer.json; the XLM-RoBERTa and BERT ones
# take the SentencePiece tokenizer.json of
# Tests/EmbCacheLocalTests/Fixtures/unigram, and every model's modules.json
# and 1_Pooling/config.json come from the variant in expected.jsonl, which
# the tests write into a copy of the directory. The weights are the same
# on every run; the WordPiece trainer breaks ties between equally frequent
# pieces differently from run to run, so MPNet's vocabulary (and with it its
# vectors) may change when this is run again: commit all its files together.
import json, os, random, shutil, tempfile, unicodedata
import torch
from safetensors.torch import save_file
from tokenizers import BertWordPieceTokenizer, Tokenizer
from transformers import (BertConfig, BertModel, MPNetConfig, MPNetModel, MPNetTokenizer,
                          XLMRobertaConfig, XLMRobertaModel, XLMRobertaTokenizer)
from transformers.models.mpnet.modeling_mpnet import MPNetEncoder
from sentence_transformers import SentenceTransformer

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.abspath(os.path.join(here, "../../../.."))
unigram = "Tests/EmbCacheLocalTests/Fixtures/unigram/tokenizer.json"
MAX_LENGTH = 100
torch.manual_seed(18)
random.seed(18)

texts = [
    "hello world",
    "a",
    "café naïve résumé straße Ångström",
    "cafe\u0301 nai\u0308ve re\u0301sume\u0301 A\u030angstro\u0308m",
    "Καλημέρα κόσμε, ΣΟΦΟΣ σοφός",
    "Привет, мир! Ёжик в тумане.",
    "مرحبا بالعالم، هذا نص عربي.",
    "สวัสดีครับ ภาษาไทยไม่มีช่องว่าง",
    "日本語のテキストと中文文本，東京。한국어 텍스트",
    "emoji 😀 👍🏽 👨‍👩‍👧 🇫🇷 ❤️ in text 👩🏽‍💻👨‍👨‍👧‍👦",
    "control\x00chars\x07and\x1bescape\x7fdel line\u2028separator\x85nel",
    "zero\u200bwidth\u200djoiner\ufeffbom\u00adsoft",
    "hello\u0378world and \U0002fffe plane two \uffff unassigned \U0002a6e0 \U0002b81f \ufaff",
    "ＡＢＣ ｆｕｌｌ－ｗｉｄｔｈ １２３ ｶﾀｶﾅ ﬁ ligature ① ㍻",
    "<s> written </s> in the <mask> text<pad>x <unk>y [UNK] <pad> twice <pad>",
    "x" * 300,
    " ".join(["καλημέρα"] * 120),
    " ".join(str(i) for i in range(300)),
    "The quick brown fox jumps over the lazy dog. " * 12,
    "a\u0300\u0301\u0302\u0303\u0304\u0305 many marks, \u0e01\u0e34\u0e4a\u0e4b stacked Thai",
]

# A WordPiece vocabulary for MPNet, trained on the same kinds of text.
syllables = ("the quick brown fox jumps over lazy dog hello world cafe naive resume strasse ka to ri na lu "
             "κα λη με ρα σου το λο γος при вет мир до бро кни га مر حبا بال عا لم สวัสดี ครับ ภาษา ไทย "
             "日 本 語 中 文 東 京 한 국 어 emoji text written in many marks").split()
lines = [" ".join(random.choice(syllables) + random.choice(["", "s", "ing", "ed", "er"])
                  for _ in range(random.randint(4, 14))) for _ in range(3000)]
lines += [unicodedata.normalize("NFD", t) for t in texts]

def randomize(model, bias_scale=1.0):
    """Weights far from the initialiser's near-zero ones, so that positions,
    attention and every LayerNorm visibly matter."""
    generator = torch.Generator().manual_seed(18)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            noise = torch.randn(parameter.shape, generator=generator)
            if "LayerNorm.weight" in name:
                parameter.copy_(1 + 0.3 * noise)
            elif "relative_attention_bias" in name:
                parameter.copy_(bias_scale * noise)
            elif name.endswith("bias"):
                parameter.copy_(0.1 * noise)
            else:
                parameter.copy_(0.2 * noise)
    return model

def small(config_class, **extra):
    return config_class(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                        hidden_act="gelu", **extra)

def save(model, directory, tokenizer_config):
    os.makedirs(directory, exist_ok=True)
    shutil.copy(tokenizer_config, os.path.join(directory, "tokenizer_config.json"))
    model.config.save_pretrained(directory)
    tensors = {k: v.contiguous() for k, v in model.state_dict().items() if not k.startswith("pooler.")}
    save_file(tensors, os.path.join(directory, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(directory, "sentence_bert_config.json"), "w") as f:
        json.dump({"max_seq_length": MAX_LENGTH, "do_lower_case": False}, f, indent=2)

with open(os.path.join(root, unigram)) as f:
    unigram_vocab = len(json.load(f)["model"]["vocab"])

models = {}
models["xlm-roberta"] = (
    randomize(XLMRobertaModel(small(XLMRobertaConfig, vocab_size=unigram_vocab, max_position_embeddings=MAX_LENGTH + 2,
                                    type_vocab_size=1, pad_token_id=1, bos_token_id=0, eos_token_id=2),
                              add_pooling_layer=False)),
    unigram)
models["multilingual-bert"] = (
    randomize(BertModel(small(BertConfig, vocab_size=unigram_vocab, max_position_embeddings=MAX_LENGTH,
                              type_vocab_size=2, pad_token_id=1), add_pooling_layer=False)),
    unigram)

# The tokenizer_config.json each tokenizer's class writes, so that
# sentence-transformers loads the tokenizer.json with the class it has.
work = tempfile.mkdtemp()
os.makedirs(work + "/unigram")
shutil.copy(os.path.join(root, unigram), work + "/unigram/tokenizer.json")
XLMRobertaTokenizer.from_pretrained(work + "/unigram").save_pretrained(work + "/xlmr")
wordpiece = BertWordPieceTokenizer(lowercase=True)
wordpiece.train_from_iterator(lines, vocab_size=1200, min_frequency=1, limit_alphabet=400,
                              special_tokens=["<s>", "<pad>", "</s>", "<unk>", "[UNK]"])
mpnet_tokenizer = MPNetTokenizer(vocab=wordpiece.get_vocab())
mpnet_tokenizer.save_pretrained(work + "/mpnet")
configs = {"xlm-roberta": work + "/xlmr/tokenizer_config.json", "multilingual-bert": work + "/xlmr/tokenizer_config.json",
           "mpnet": work + "/mpnet/tokenizer_config.json"}
mpnet_dir = os.path.join(here, "mpnet")
os.makedirs(mpnet_dir, exist_ok=True)
with open(work + "/mpnet/tokenizer.json") as f:
    data = json.load(f)
with open(os.path.join(mpnet_dir, "tokenizer.json"), "w") as f:
    json.dump(data, f, ensure_ascii=False, separators=(",", ":"))
models["mpnet"] = (
    randomize(MPNetModel(small(MPNetConfig, vocab_size=len(mpnet_tokenizer), max_position_embeddings=MAX_LENGTH + 2,
                               relative_attention_num_buckets=32, layer_norm_eps=1e-5),
                         add_pooling_layer=False)),
    "Tests/EndToEndTests/Fixtures/encoders/mpnet/tokenizer.json")

# Poolings: the older pooling_mode_* booleans for some, sentence-
# transformers 5's "pooling_mode" for the others.
def legacy(mode):
    keys = ["cls_token", "mean_tokens", "max_tokens", "mean_sqrt_len_tokens", "weightedmean_tokens", "lasttoken"]
    return {"word_embedding_dimension": 32, **{"pooling_mode_" + k: k == mode for k in keys}}
def current(mode):
    return {"embedding_dimension": 32, "pooling_mode": mode, "include_prompt": True}
variants = {
    "xlm-roberta": [(legacy("mean_tokens"), True), (legacy("cls_token"), False), (legacy("max_tokens"), False),
                    (current("mean_sqrt_len_tokens"), False), (current("weightedmean"), True),
                    (current("lasttoken"), True)],
    "multilingual-bert": [(legacy("mean_tokens"), True), (legacy("cls_token"), False)],
    "mpnet": [(legacy("mean_tokens"), True), (legacy("cls_token"), False), (current("max"), True)],
}

def modules(normalize):
    listed = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
              {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    if normalize:
        listed.append({"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"})
    return listed

with open(os.path.join(here, "texts.jsonl"), "w") as f:
    for i, text in enumerate(texts):
        f.write(json.dumps({"id": i, "text": text}, ensure_ascii=False) + "\n")

with open(os.path.join(here, "expected.jsonl"), "w") as out:
    for name, (model, tokenizer) in models.items():
        directory = os.path.join(here, name)
        save(model, directory, configs[name])
        reference = Tokenizer.from_file(os.path.join(root, tokenizer))
        reference.enable_truncation(MAX_LENGTH)
        for pooling, normalize in variants[name]:
            with tempfile.TemporaryDirectory() as scratch:
                run = os.path.join(scratch, name)
                shutil.copytree(directory, run)
                shutil.copy(os.path.join(root, tokenizer), os.path.join(run, "tokenizer.json"))
                os.makedirs(os.path.join(run, "1_Pooling"))
                with open(os.path.join(run, "1_Pooling", "config.json"), "w") as f:
                    json.dump(pooling, f, indent=2)
                with open(os.path.join(run, "modules.json"), "w") as f:
                    json.dump(modules(normalize), f, indent=2)
                st = SentenceTransformer(run, device="cpu")
                assert st.max_seq_length == MAX_LENGTH, st.max_seq_length
                vectors = st.encode(texts, batch_size=8, convert_to_numpy=True)
                ids = [st.tokenize([t])["input_ids"][0].tolist() for t in texts]
            # sentence-transformers tokenizes as the file says.
            assert ids == [reference.encode(t).ids for t in texts]
            lengths = [len(i) for i in ids]
            assert max(lengths) == MAX_LENGTH, lengths
            out.write(json.dumps({
                "model": name, "tokenizer": tokenizer, "pooling": pooling, "normalize": normalize,
                "tokens": lengths,
                "vectors": [[float("%.9g" % x) for x in v] for v in vectors.tolist()],
            }, ensure_ascii=False) + "\n")

relative = list(range(-600, 601))
buckets = MPNetEncoder.relative_position_bucket(torch.tensor(relative)).tolist()
with open(os.path.join(root, "Tests/EmbCacheLocalTests/Fixtures/mpnet-buckets.json"), "w") as f:
    json.dump({"relative": relative, "bucket": buckets}, f, separators=(",", ":"))
shutil.rmtree(work)
