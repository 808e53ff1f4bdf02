"""A foreign client for the suggestion-latency benchmark: Python grpcio with stubs generated from proto/api.proto.

Run by benchmarks/suggestion-latency/run.ts as `/usr/bin/python3 grpc_client.py serve` (Debian's python3-grpcio,
python3-grpc-tools and python3-protobuf). At start it generates api_pb2 (the messages) with grpc_tools.protoc into a
temporary folder (removed at exit; nothing generated is kept in the repository), so the client speaks Katib's
protocol from the schema alone, as Katib's Go controller does, and shares no code with the service.

It reads one JSON request per line on stdin and answers one JSON line on stdout:
    {"op": "connect", "address": "127.0.0.1:PORT"}              -> {"ok": true}
    {"op": "call", "request": {GetSuggestionsRequest as JSON}}   -> {"ms": float, "encodeMs": float, "reply": {...}}
    {"op": "repeat", "request": {...}, "times": N}               -> {"ms": [float, ...]}
The request uses the proto's field names (snake_case) and enum names, as @grpc/proto-loader writes them. It is
parsed into an api_pb2.GetSuggestionsRequest and serialised before the clock starts, so that "ms" is what the
service costs its client: the blocking call with the request's bytes (transport, the service's decoding, handler and
reply, and parsing the reply into an api_pb2.GetSuggestionsReply), without the client's own encoding. "encodeMs" is
that SerializeToString, timed on its own: what a call through the generated stub would add (Debian's protobuf takes
about 7 ms for a 1000-trial request). The reply comes back with the proto's field names and every default filled in.
"repeat" sends the request's bytes N times, each call as soon as the previous reply has arrived, and times each.
"""
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

PROTO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "proto")
# The gRPC path of GetSuggestions: /<package>.<service>/<method> of proto/api.proto.
METHOD = "/api.v1.beta1.Suggestion/GetSuggestions"


def generate_stubs():
    out = tempfile.mkdtemp(prefix="katib-ts-grpc-client-")
    atexit.register(shutil.rmtree, out, True)
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{PROTO_DIR}", f"--python_out={out}", os.path.join(PROTO_DIR, "api.proto")],
        check=True,
    )
    sys.path.insert(0, out)


def main():
    if sys.argv[1:] != ["serve"]:
        sys.stderr.write(__doc__)
        sys.exit(2)
    generate_stubs()
    import grpc  # noqa: E402  (after the stubs exist)
    from google.protobuf import json_format  # noqa: E402
    import api_pb2  # noqa: E402

    channel = None
    stub = None
    for line in sys.stdin:
        req = json.loads(line)
        try:
            if req["op"] == "connect":
                if channel is not None:
                    channel.close()
                options = [("grpc.max_receive_message_length", 64 * 1024 * 1024), ("grpc.max_send_message_length", 64 * 1024 * 1024)]
                channel = grpc.insecure_channel(req["address"], options=options)
                grpc.channel_ready_future(channel).result(timeout=30)
                # The method as the generated SuggestionStub calls it, but taking the request's bytes.
                stub = channel.unary_unary(METHOD, request_serializer=None, response_deserializer=api_pb2.GetSuggestionsReply.FromString)
                answer = {"ok": True}
            elif req["op"] == "call":
                msg = json_format.ParseDict(req["request"], api_pb2.GetSuggestionsRequest())
                start = time.perf_counter()
                body = msg.SerializeToString()
                encode_ms = (time.perf_counter() - start) * 1000
                start = time.perf_counter()
                reply = stub(body, timeout=600)
                ms = (time.perf_counter() - start) * 1000
                out = json_format.MessageToDict(reply, preserving_proto_field_name=True, including_default_value_fields=True)
                answer = {"ms": ms, "encodeMs": encode_ms, "reply": out}
            elif req["op"] == "repeat":
                body = json_format.ParseDict(req["request"], api_pb2.GetSuggestionsRequest()).SerializeToString()
                times = []
                for _ in range(int(req["times"])):
                    start = time.perf_counter()
                    stub(body, timeout=600)
                    times.append((time.perf_counter() - start) * 1000)
                answer = {"ms": times}
            else:
                answer = {"error": f"unknown op {req['op']!r}; use connect, call or repeat"}
        except grpc.RpcError as e:
            answer = {"error": f"GetSuggestions: {e.code().name}: {e.details()}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    if channel is not None:
        channel.close()


if __name__ == "__main__":
    main()
