"""Embeds texts with one provider's official Python SDK, for the
conformance test: sdk_embed.py API ROOT KEY MODEL < texts.json, where ROOT
is the recording server's http://127.0.0.1:PORT. Prints the vectors the SDK
returned as a JSON list of lists (Python floats, printed to round-trip)."""

import json, sys

api, root, key, model = sys.argv[1:5]
texts = json.load(sys.stdin)
if api == "openai":
    import openai
    client = openai.OpenAI(api_key=key, base_url=root + "/openai/v1")
    vectors = [d.embedding for d in client.embeddings.create(model=model, input=texts).data]
elif api == "azure":
    import openai
    client = openai.AzureOpenAI(api_key=key, azure_endpoint=root + "/azure", api_version="2024-10-21")
    vectors = [d.embedding for d in client.embeddings.create(model=model, input=texts).data]
elif api == "cohere":
    import cohere
    client = cohere.ClientV2(api_key=key, base_url=root + "/cohere")
    result = client.embed(model=model, texts=texts, input_type="search_document", embedding_types=["float"])
    vectors = result.embeddings.float
elif api == "voyage":
    import voyageai
    client = voyageai.Client(api_key=key, base_url=root + "/voyage/v1")
    vectors = client.embed(texts, model=model).embeddings
elif api == "gemini":
    from google import genai
    from google.genai import types
    client = genai.Client(api_key=key, http_options=types.HttpOptions(base_url=root + "/gemini/", api_version="v1beta"))
    vectors = [e.values for e in client.models.embed_content(model=model, contents=texts).embeddings]
elif api == "ollama":
    import ollama
    client = ollama.Client(host=root + "/ollama")
    vectors = [list(v) for v in client.embed(model=model, input=texts).embeddings]
elif api == "tei":
    from huggingface_hub import InferenceClient
    client = InferenceClient(base_url=root + "/tei", api_key=key)
    vectors = client.feature_extraction(texts, normalize=False).tolist()
else:
    sys.exit("unknown api " + api)
json.dump([[float(x) for x in v] for v in vectors], sys.stdout)
