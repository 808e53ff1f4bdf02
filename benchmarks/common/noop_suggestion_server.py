"""The latency benchmark's second transport reference: gRPC's C-core server (Debian's python3-grpcio) with Katib's
Suggestion service, whose GetSuggestions neither decodes its request nor does any work and answers an empty
GetSuggestionsReply, as benchmarks/common/noop-suggestion-server.ts does on grpc-js. Beside it, it shows how much of
a call's time is the client and the machine (wake-ups, the loopback) rather than grpc-js.

    /usr/bin/python3 benchmarks/common/noop_suggestion_server.py
prints "suggestion service listening on 127.0.0.1:PORT" on stderr, answers grpc.health.v1 Check with SERVING for
every service name, and stops on SIGTERM or SIGINT. It needs no generated code: both methods take and give bytes.
"""
import signal
import sys
import threading
from concurrent import futures

import grpc

# HealthCheckResponse{status: SERVING}: field 1, varint, value 1.
SERVING = b"\x08\x01"


def main():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)])
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "api.v1.beta1.Suggestion",
                {
                    "GetSuggestions": grpc.unary_unary_rpc_method_handler(lambda request, context: b""),
                    "ValidateAlgorithmSettings": grpc.unary_unary_rpc_method_handler(lambda request, context: b""),
                },
            ),
            grpc.method_handlers_generic_handler("grpc.health.v1.Health", {"Check": grpc.unary_unary_rpc_method_handler(lambda request, context: SERVING)}),
        )
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    sys.stderr.write(f"suggestion service listening on 127.0.0.1:{port}\n")
    sys.stderr.flush()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop(grace=None)


if __name__ == "__main__":
    main()
