"""Runs one real client of `embcache serve` against the server, for the
end-to-end test: serve_clients.py CASE BASE_URL MODEL [--key KEY]
[--dimensions D] < texts.json

texts.json is a JSON list of strings; BASE_URL ends in /v1; without --key
the clients send the key "unused". --dimensions goes to the openai and
langchain cases. The vector cases write what the client returned to stdout
as little-endian float32 rows, one per text in order: the bytes `embcache
--format f32` writes.

  openai-float       the official openai client, encoding_format="float"
  openai-base64      encoding_format="base64": the client hands back the
                     base64 text as it came
  openai-default     no encoding_format: the client asks for base64 itself
                     and decodes it, so this is what most users send
  openai-single      one request per text, input a plain string
  openai-dimensions  as openai-default, with --dimensions required
  langchain          langchain-openai's OpenAIEmbeddings.embed_documents with
                     check_embedding_ctx_length=False: otherwise it splits
                     texts with tiktoken (whose tables are a download) and
                     sends token-id arrays, which the server refuses
  llm                llm's own OpenAI embedding model, through
                     llm.get_embedding_model(MODEL).embed_multi. llm reads
                     no file for OpenAI-compatible embedding models (its
                     extra-openai-models.yaml is for chat models only); its
                     embedding model takes the base URL the openai client
                     does, from OPENAI_BASE_URL. A MODEL llm knows
                     (text-embedding-3-small, 3-small, ...) is llm's, so the
                     server needs a model of that name; any other is
                     registered here by a plugin, as an llm plugin would.
                     The key is llm's stored "openai" key, in a fresh
                     LLM_USER_PATH; no other plugins are loaded.

  openai-errors      requests the server must refuse: token-id arrays (a
                     list of lists and a flat list), an unknown model, and
                     with --key a wrong key. One JSON line each: {"check",
                     "status", "error" (the openai exception's class),
                     "type", "code", "param", "message"} as the client
                     exposes them; status 200 and nulls if nothing was
                     refused."""

import argparse, base64, json, os, struct, sys, tempfile, types

parser = argparse.ArgumentParser()
parser.add_argument("case")
parser.add_argument("base_url")
parser.add_argument("model")
parser.add_argument("--key", default="unused")
parser.add_argument("--dimensions", type=int)
args = parser.parse_args()
texts = json.load(sys.stdin)
dimensions = {"dimensions": args.dimensions} if args.dimensions else {}


def openai_client(key=args.key):
    import openai
    # No retries: a refused or failed request must show, not be tried again.
    return openai.OpenAI(api_key=key, base_url=args.base_url, max_retries=0)


def openai_vectors(**call):
    data = openai_client().embeddings.create(model=args.model, input=texts, **dimensions, **call).data
    if [d.index for d in data] != list(range(len(texts))):
        sys.exit("serve_clients.py: answer's indices out of order or missing")
    # With a format asked for, the client passes the answer on as it came.
    wanted = {"float": list, "base64": str}.get(call.get("encoding_format"), list)
    if not all(isinstance(d.embedding, wanted) for d in data):
        sys.exit("serve_clients.py: embeddings are not " + wanted.__name__ + "s")
    return [d.embedding for d in data]


def llm_vectors():
    user_dir = tempfile.mkdtemp()
    with open(os.path.join(user_dir, "keys.json"), "w") as keys:
        json.dump({"openai": args.key}, keys)
    # Read when llm is imported: no plugins but llm's own and the one below.
    os.environ.update(LLM_USER_PATH=user_dir, LLM_LOAD_PLUGINS="", OPENAI_BASE_URL=args.base_url)
    os.environ.pop("OPENAI_API_KEY", None)
    import llm
    from llm.default_plugins.openai_models import OpenAIEmbeddingModel
    try:
        model = llm.get_embedding_model(args.model)
    except llm.UnknownModelError:
        @llm.hookimpl
        def register_embedding_models(register):
            register(OpenAIEmbeddingModel(args.model, args.model))
        llm.plugins.pm.register(types.SimpleNamespace(register_embedding_models=register_embedding_models), "embcache")
        model = llm.get_embedding_model(args.model)
    return list(model.embed_multi(texts))


def errors():
    import openai
    checks = [("token-id-arrays", {"input": [[1, 2, 3]]}),
              ("token-ids", {"input": [1, 2, 3]}),
              ("unknown-model", {"model": "no-such-model"})]
    if args.key != "unused":
        checks.append(("wrong-key", {"key": "wrong-" + args.key}))
    for check, call in checks:
        client = openai_client(call.pop("key", args.key))
        result = {"check": check, "status": 200, "error": None, "type": None, "code": None, "param": None, "message": None}
        try:
            client.embeddings.create(**{"model": args.model, "input": texts, **call})
        except openai.APIStatusError as error:
            body = error.body if isinstance(error.body, dict) else {}
            result.update(status=error.status_code, error=type(error).__name__, type=error.type,
                          code=error.code, param=error.param, message=body.get("message"))
        print(json.dumps(result), flush=True)


def write(vectors):
    for vector in vectors:
        if isinstance(vector, str):
            sys.stdout.buffer.write(base64.b64decode(vector))
        else:
            sys.stdout.buffer.write(struct.pack("<%df" % len(vector), *vector))


case = args.case
if case == "openai-float":
    write(openai_vectors(encoding_format="float"))
elif case == "openai-base64":
    write(openai_vectors(encoding_format="base64"))
elif case == "openai-default":
    write(openai_vectors())
elif case == "openai-dimensions":
    if not args.dimensions:
        sys.exit("serve_clients.py: openai-dimensions needs --dimensions")
    write(openai_vectors())
elif case == "openai-single":
    client = openai_client()
    write([client.embeddings.create(model=args.model, input=text, **dimensions).data[0].embedding for text in texts])
elif case == "langchain":
    from langchain_openai import OpenAIEmbeddings
    embedder = OpenAIEmbeddings(model=args.model, base_url=args.base_url, api_key=args.key,
                                check_embedding_ctx_length=False, max_retries=0, **dimensions)
    write(embedder.embed_documents(texts))
elif case == "llm":
    write(llm_vectors())
elif case == "openai-errors":
    errors()
else:
    sys.exit("serve_clients.py: no case " + case)
