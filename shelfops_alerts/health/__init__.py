"""Who is alive: workers and beat announce themselves in Redis (presence), and a probe per
service checks that service alone (probes), for container health checks."""
