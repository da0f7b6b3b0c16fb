"""Embeds texts with one provider's official Python SDK, for the
conformance test: sdk_embed.py API KEY < calls.json.

calls.json is a list of calls, each {"root": ..., "model": ..., "texts":
[...], "client": {...}, "call": {...}}: root is where the API's base URL
starts (the recording server's http://127.0.0.1:PORT/CASE); client and
call are keyword arguments for the SDK's client and its embedding call,
beside the ones below that every call makes. One process makes them all:
Python and the SDKs take a second or so to start. Prints, for each call,
the vectors the SDK returned: a JSON list of lists of lists of numbers
(Python floats, printed to round-trip).

The key goes where each SDK's documentation puts it: an argument, or for
ollama its variable OLLAMA_API_KEY."""

import json, os, sys

api, key = sys.argv[1:3]


def embed(root, model, texts, client, call):
    if api == "openai":
        import openai
        sdk = openai.OpenAI(api_key=key, base_url=root + "/openai/v1", **client)
        return [d.embedding for d in sdk.embeddings.create(model=model, input=texts, **call).data]
    if api == "azure":
        import openai
        sdk = openai.AzureOpenAI(api_key=key, azure_endpoint=root + "/azure", **client)
        return [d.embedding for d in sdk.embeddings.create(model=model, input=texts, **call).data]
    if api == "cohere":
        import cohere
        sdk = cohere.ClientV2(api_key=key, base_url=root + "/cohere", **client)
        return sdk.embed(model=model, texts=texts, embedding_types=["float"], **call).embeddings.float
    if api == "voyage":
        import voyageai
        sdk = voyageai.Client(api_key=key, base_url=root + "/voyage/v1", **client)
        return sdk.embed(texts, model=model, **call).embeddings
    if api == "gemini":
        from google import genai
        from google.genai import types
        options = types.HttpOptions(base_url=root + "/gemini/", api_version="v1beta")
        sdk = genai.Client(api_key=key, http_options=options, **client)
        config = types.EmbedContentConfig(**call)
        return [e.values for e in sdk.models.embed_content(model=model, contents=texts, config=config).embeddings]
    if api == "ollama":
        import ollama
        os.environ["OLLAMA_API_KEY"] = key
        sdk = ollama.Client(host=root + "/ollama", **client)
        return [list(v) for v in sdk.embed(model=model, input=texts, **call).embeddings]
    if api == "tei":
        from huggingface_hub import InferenceClient
        sdk = InferenceClient(base_url=root + "/tei", api_key=key, **client)
        return sdk.feature_extraction(texts, **call).tolist()
    sys.exit("sdk_embed.py: no SDK for " + api)


calls = json.load(sys.stdin)
results = [embed(c["root"], c["model"], c["texts"], c.get("client", {}), c.get("call", {})) for c in calls]
json.dump([[[float(x) for x in v] for v in vectors] for vectors in results], sys.stdout)
