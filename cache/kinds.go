package cache

// Kinds of cached objects; they are also the prefixes of work-queue keys ("service:1s12").
const (
	KindService  = "service"
	KindHost     = "host"
	KindInstance = "instance"
	KindReceiver = "receiver"
)

// ReceiverKind is the genericObject kind under which webhook receivers are stored (webhook-service's choice).
const ReceiverKind = "webhookReceiver"

// Kinds lists every kind in a stable order.
func Kinds() []string { return []string{KindService, KindHost, KindInstance, KindReceiver} }

// kindOf maps a Cattle API type or base type to the cache kind, "" for types the cache does not keep.
func kindOf(apiType string) string {
	switch apiType {
	case "service", "loadBalancerService", "dnsService", "externalService", "kubernetesService", "composeService",
		"networkDriverService", "storageDriverService":
		return KindService
	case "host":
		return KindHost
	case "instance", "container", "virtualMachine":
		return KindInstance
	case "genericObject":
		return KindReceiver
	}
	return ""
}
