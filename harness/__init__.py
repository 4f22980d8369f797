"""What the tests and the benchmarks share: the server launcher (`harness.servers`) and the
protocol v1 client over a real websocket (`harness.client`).

Tests (`tests/`) and benchmarks (`bench/`) import it; the product (config, chat, agents, risk)
never does, and it imports nothing of the tests or the benchmarks."""
