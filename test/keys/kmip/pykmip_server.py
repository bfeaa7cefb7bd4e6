# Starts a PyKMIP server on 127.0.0.1 for the KMIP key-provider tests: TLS 1.2 with client
# certificates required, settings from a JSON argument; prints {"ready": port} once listening,
# exits when its stdin closes.
import json
import os
import sys
import threading
import warnings

warnings.simplefilter("ignore")
from kmip.services.server import server  # noqa: E402

settings = json.loads(sys.argv[1])
kmip = server.KmipServer(
    hostname="127.0.0.1",
    port=settings["port"],
    certificate_path=settings["cert"],
    key_path=settings["key"],
    ca_path=settings["ca"],
    auth_suite="TLS1.2",
    config_path=None,
    log_path=settings["log"],
    policy_path=settings["policies"],
    enable_tls_client_auth=True,
    tls_cipher_suites="TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    logging_level="INFO",
    database_path=settings["db"],
)
kmip.start()


def leave():
    # PyKMIP's multiprocessing manager is a child process of its own: end it too.
    try:
        kmip.manager.shutdown()
    finally:
        os._exit(0)


def exit_when_parent_goes():
    # The test holds our stdin open; when it closes it (stop) or dies, the server goes too,
    # without waiting for PyKMIP's 10 s accept timeout or its session threads.
    sys.stdin.read()
    leave()


threading.Thread(target=exit_when_parent_goes, daemon=True).start()
print(json.dumps({"ready": settings["port"]}), flush=True)
kmip.serve()
leave()
