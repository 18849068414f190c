"""The bench's API-calls load (bench/bench_http.py, api_calls) measures the module, not
httpd out of workers.

Every view of that load holds its worker while it asks the token API (no token cache:
every view asks), and its CLIENTS keep-alive connections may all sit in one child.  When a
request arrives on a kept-alive connection and its child has no idle worker, the event
MPM closes the connection without a response (its listener does not wait for a worker
there: "the client can re-connect to a different process").  With as many threads per
child as clients, that dropped a connection in a few runs of the load out of a hundred.
These tests put the load's clients in one child, as if all their connections had landed
there, and send one more request on a kept-alive connection meanwhile.
"""

import sys
import threading

import requests

from rai_harness import REPO_ROOT, loopback_session, wait_for

sys.path.insert(0, str(REPO_ROOT / "bench"))
import bench_http  # noqa: E402

API_DELAY = 2       # seconds the stand-in takes per token request while the clients wait


def one_child_server(request, httpd_factory, workdir, standin, threads):
    """api_calls' server (its site and configuration), with one child of `threads`
    threads."""
    assert httpd_factory                # its clean-up stops and checks this server
    httpd, passwords = bench_http.site(workdir / "bench", standin, "")
    request.node.rai_httpds.append(httpd)
    httpd.configure(bench_http.api_calls_conf(httpd, standin, "none") + """
StartServers 1
ServerLimit 1
ThreadLimit {t}
ThreadsPerChild {t}
MaxRequestWorkers {t}
MaxSpareThreads {t}
""".format(t=threads))
    return httpd.start(), passwords


def kept_alive_request_while_clients_wait(httpd, passwords, standin):
    """A view on a kept-alive connection while CLIENTS other views wait for the API in
    the same child: its status, or the exception the client got."""
    users = sorted(passwords)
    keeper = loopback_session()
    auth = (users[0], passwords[users[0]])
    assert keeper.get(httpd.url("/"), auth=auth, timeout=10).status_code == 200

    standin.control(mode="slow", delay=API_DELAY)
    before = standin.stats()["token_requests"]
    statuses = []

    def client(user):
        with loopback_session() as session:
            statuses.append(session.get(httpd.url("/"), auth=(user, passwords[user]),
                                        timeout=10).status_code)

    clients = [threading.Thread(target=client, args=(user,))
               for user in users[1:1 + bench_http.CLIENTS]]
    for thread in clients:
        thread.start()
    try:
        # every client's view now holds its worker, waiting for the API
        assert wait_for(lambda: standin.stats()["token_requests"] - before
                        >= bench_http.CLIENTS, 10)
        try:
            outcome = keeper.get(httpd.url("/"), auth=auth, timeout=10)
        except requests.ConnectionError as e:
            outcome = e
    finally:
        for thread in clients:
            thread.join()
        keeper.close()
    assert statuses == [200] * bench_http.CLIENTS
    return outcome


def test_api_calls_server_keeps_a_worker_for_a_kept_alive_request(
        request, httpd_factory, workdir, standin):
    """With the load's clients all in one child, a child of api_calls' server still has
    a worker for a request on a kept-alive connection: it gets its page, with a token."""
    httpd, passwords = one_child_server(request, httpd_factory, workdir, standin,
                                        bench_http.API_THREADS)
    outcome = kept_alive_request_while_clients_wait(httpd, passwords, standin)
    assert isinstance(outcome, requests.Response), \
        "kept-alive connection closed without a response: %r" % outcome
    assert outcome.status_code == 200
    assert 'embed-token="' in outcome.text


def test_without_a_worker_left_a_kept_alive_request_is_dropped(
        request, httpd_factory, workdir, standin):
    """What the test above guards against, as the load saw it with as many threads per
    child as clients: the request on the kept-alive connection gets no response; the
    connection is closed once a worker is free."""
    httpd, passwords = one_child_server(request, httpd_factory, workdir, standin,
                                        bench_http.CLIENTS)
    httpd.expect_error(r"AH00484: server reached MaxRequestWorkers")
    outcome = kept_alive_request_while_clients_wait(httpd, passwords, standin)
    assert isinstance(outcome, requests.ConnectionError), outcome
    assert "without response" in str(outcome)
