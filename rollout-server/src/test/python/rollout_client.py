"""A Python client of rollout.v1.RolloutService, as a trainer written in Python would call it.

Uses only Debian's python3-grpcio and python3-protobuf: the messages come from `protoc --python_out`, the service stub
is grpc's generic channel API (grpc_tools, which would generate it, is not packaged). Prints one JSON object with what
it saw; any contract violation fails an assertion and exits non-zero.

    protoc --python_out=OUT -I proto rollout/v1/rollout.proto
    PYTHONPATH=OUT /usr/bin/python3 rollout_client.py --port 50051
"""
import argparse
import json
import sys

import grpc
from rollout.v1 import rollout_pb2 as pb

SERVICE = "/rollout.v1.RolloutService/"


class RolloutStub:
    def __init__(self, channel):
        def unary(name, request, response):
            return channel.unary_unary(SERVICE + name, request_serializer=request.SerializeToString,
                                       response_deserializer=response.FromString)

        self.GenerateBatch = unary("GenerateBatch", pb.GenerateBatchRequest, pb.GenerateBatchResponse)
        self.GetModelInfo = unary("GetModelInfo", pb.GetModelInfoRequest, pb.ModelInfo)
        self.GenerateStream = channel.unary_stream(SERVICE + "GenerateStream",
                                                   request_serializer=pb.GenerateBatchRequest.SerializeToString,
                                                   response_deserializer=pb.Completion.FromString)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    with grpc.insecure_channel(f"localhost:{args.port}") as channel:
        stub = RolloutStub(channel)
        info = stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=60)
        assert info.vocab_size > 0 and info.tensors, info

        greedy = pb.SamplingParams(n=2, max_tokens=8, temperature=0.0, ignore_eos=True)
        request = pb.GenerateBatchRequest(
            prompts=[pb.Prompt(token_ids=pb.TokenIds(ids=[5, 6, 7])), pb.Prompt(text="hello world")],
            sampling=greedy)
        batch = stub.GenerateBatch(request, timeout=60)
        assert len(batch.completions) == 4, batch
        for c in batch.completions:
            assert len(c.token_ids) == 8 and len(c.logprobs) == 8, c
            assert c.finish_reason == pb.FINISH_REASON_LENGTH, c
            assert all(lp <= 0.0 for lp in c.logprobs), c.logprobs
            versions = list(c.token_weight_versions)
            assert len(versions) == len(c.token_ids), c
            assert versions == sorted(versions) and versions[0] == c.weight_version, c

        streamed = list(stub.GenerateStream(request, timeout=60))
        assert len(streamed) == 4, streamed
        assert all(len(c.token_weight_versions) == len(c.token_ids) for c in streamed), streamed

        try:
            stub.GenerateBatch(pb.GenerateBatchRequest(
                prompts=[pb.Prompt(token_ids=pb.TokenIds(ids=[1]))], sampling=pb.SamplingParams(max_tokens=0)), timeout=60)
            raise AssertionError("max_tokens=0 was accepted")
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e
            invalid_message = e.details()

        print(json.dumps({
            "model_id": info.model_id,
            "weight_version": info.weight_version,
            "batch": [list(c.token_ids) for c in batch.completions],
            "stream": sorted([c.prompt_index, c.sample_index, list(c.token_ids)] for c in streamed),
            "prompt_token_ids": [list(c.prompt_token_ids) for c in batch.completions],
            "token_weight_versions": [list(c.token_weight_versions) for c in batch.completions],
            "stream_token_weight_versions": [list(c.token_weight_versions) for c in streamed],
            "invalid_message": invalid_message,
        }))


if __name__ == "__main__":
    sys.exit(main())
