"""The CDC indexer as a managed local service (consumers/indexer), so `stack up` keeps the index
in step with MariaDB. Ready when its /metrics answers."""
from hellohome.stack.consumer import ConsumerService

SERVICE = "indexer"
service = ConsumerService(SERVICE, "consumers.indexer", lambda s: s.indexer_metrics_port)
process, ping, is_up, start, stop, status = (service.process, service.ping, service.is_up, service.start,
                                             service.stop, service.status)
