"""The enricher (consumers/enricher) as a managed local service. HH_ENRICHER_AUTOSTART=false
leaves it out (the test session runs its own, on small data). Ready when /metrics answers."""
from hellohome.stack.consumer import ConsumerService

SERVICE = "enricher"
service = ConsumerService(SERVICE, "consumers.enricher", lambda s: s.enricher_metrics_port,
                          lambda s: s.enricher_autostart)
process, ping, is_up, start, stop, status = (service.process, service.ping, service.is_up, service.start,
                                             service.stop, service.status)
