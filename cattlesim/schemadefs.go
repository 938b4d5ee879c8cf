package cattlesim

import (
	"maps"
	"strings"
)

// Schema definitions of the emulated v2-beta API (cattle-protocol.md §2.1, §2.4, §2.5, §3.1, §4.1, §5, §6.3).
// Only the types and fields a client of services, hosts, containers, generic objects and events can observe are
// declared, with Cattle's attributes: create/update/required/nullable/default/min/max, scheduleUpdate (a PUT of
// that field starts <type>.update), the resource actions and the collectionFilters (only real columns are
// filterable: labels, hostId and serviceId are deliberately not, §2.4).

// fld builds a Field of type typ; flags are c=create, u=update, r=required, n=nullable, s=scheduleUpdate.
func fld(typ, flags string) Field {
	f := Field{Type: typ}
	for _, c := range flags {
		switch c {
		case 'c':
			f.Create = true
		case 'u':
			f.Update = true
		case 'r':
			f.Required = true
		case 'n':
			f.Nullable = true
		case 's':
			f.ScheduleUpdate = true
		}
	}
	return f
}

func (f Field) dflt(v any) Field { f.Default = v; return f }

func (f Field) enum(opts ...string) Field { f.Options = opts; return f }

func (f Field) minVal(n int64) Field { f.Min = &n; return f }

func (f Field) maxVal(n int64) Field { f.Max = &n; return f }

func (f Field) lengths(minLen, maxLen int64) Field {
	f.MinLength = &minLen
	if maxLen >= 0 {
		f.MaxLength = &maxLen
	}
	return f
}

func (f Field) chars(valid string) Field { f.ValidChars = valid; return f }

// Modifier sets of collection filters by field type (Cattle derives them from the column type).
var (
	stringModifiers = []string{"eq", "ne", "null", "notnull", "like", "notlike", "prefix"}
	numberModifiers = []string{"eq", "ne", "lt", "lte", "gt", "gte", "null", "notnull"}
	equalModifiers  = []string{"eq", "ne", "null", "notnull"}
)

// modifiersFor returns the filter modifiers Cattle allows for a field type.
func modifiersFor(typ string) []string {
	switch {
	case typ == "string", typ == "enum", typ == "password":
		return stringModifiers
	case typ == "int", typ == "date":
		return numberModifiers
	default:
		return equalModifiers
	}
}

// filters builds collectionFilters for the named fields of fields; "id" is always filterable. A name that is
// not a declared field is skipped (TestSchemaDefinitions catches such typos).
func filters(fields map[string]Field, names ...string) map[string][]string {
	out := map[string][]string{"id": numberModifiers}
	for _, n := range names {
		if f, ok := fields[n]; ok {
			out[n] = modifiersFor(f.Type)
		}
	}
	return out
}

// commonFields are the fields every stored resource has (§2.2).
func commonFields() map[string]Field {
	return map[string]Field{
		"accountId":             fld("reference[account]", ""),
		"created":               fld("date", ""),
		"data":                  fld("map[json]", ""),
		"description":           fld("string", "cun"),
		"kind":                  fld("string", ""),
		"name":                  fld("string", "cun"),
		"removeTime":            fld("date", ""),
		"removed":               fld("date", ""),
		"state":                 fld("enum", ""),
		"transitioning":         fld("enum", "").enum("yes", "no", "error"),
		"transitioningMessage":  fld("string", ""),
		"transitioningProgress": fld("int", ""),
		"uuid":                  fld("string", ""),
	}
}

// withFields returns base overlaid with extra.
func withFields(base map[string]Field, extra map[string]Field) map[string]Field {
	out := maps.Clone(base)
	maps.Copy(out, extra)
	return out
}

var (
	crud        = []string{"GET", "PUT", "DELETE"}
	readCreate  = []string{"GET", "POST"}
	readOnly    = []string{"GET"}
	createOnly  = []string{"POST"}
	readDelete  = []string{"GET", "DELETE"}
	noneMethods = []string{}
)

const nameChars = "a-zA-Z0-9-"

var serviceStates = []string{"activating", "active", "canceled-upgrade", "canceling-upgrade", "deactivating",
	"finishing-upgrade", "inactive", "registering", "removed", "removing", "requested", "restarting", "rolling-back",
	"updating-active", "updating-inactive", "upgraded", "upgrading"}

var hostStates = []string{"activating", "active", "deactivating", "disconnected", "disconnecting", "erroring", "error",
	"finishing-reconnect", "inactive", "provisioned", "provisioning", "purged", "purging", "reconnected", "reconnecting",
	"registering", "removed", "removing", "requested", "updating-active", "updating-inactive"}

var instanceStates = []string{"creating", "erroring", "error", "migrating", "purged", "purging", "removed", "removing",
	"requested", "restarting", "restoring", "running", "starting", "stopped", "stopping", "updating-running",
	"updating-stopped"}

var healthStates = []string{"healthy", "unhealthy", "updating-healthy", "updating-unhealthy", "initializing",
	"reinitializing", "updating-reinitializing", "degraded", "started-once"}

// machineDrivers are the docker-machine drivers whose <driver>Config a host create accepts (§4.1, §4.3).
var machineDrivers = []string{"amazonec2", "azure", "digitalocean", "exoscale", "generic", "openstack", "packet",
	"rackspace", "softlayer", "vmwarevsphere"}

// newSchemas returns the emulator's schema definitions, keyed by schema id. The result is never mutated.
func newSchemas() map[string]*Schema {
	out := map[string]*Schema{}
	add := func(sc *Schema) { out[sc.ID] = sc }

	addServiceSchemas(add)
	addInstanceSchemas(add)
	addHostSchemas(add)
	addMiscSchemas(add)
	addEmbeddedSchemas(add)
	addAPISchemas(add)
	return out
}

func addServiceSchemas(add func(*Schema)) {
	serviceFields := withFields(commonFields(), map[string]Field{
		"name":                   fld("string", "curs").chars(nameChars).lengths(1, 63),
		"stackId":                fld("reference[stack]", "cr"),
		"scale":                  fld("int", "cus").dflt(1).minVal(0),
		"scalePolicy":            fld("scalePolicy", "cuns"),
		"currentScale":           fld("int", ""),
		"launchConfig":           fld("launchConfig", "cn"),
		"secondaryLaunchConfigs": fld("array[secondaryLaunchConfig]", "cn"),
		"upgrade":                fld("serviceUpgrade", ""),
		"instanceIds":            fld("array[reference[instance]]", ""),
		"healthState":            fld("enum", "").enum(healthStates...),
		"linkedServices":         fld("map[reference[service]]", ""),
		"selectorContainer":      fld("string", "cuns"),
		"selectorLink":           fld("string", "cuns"),
		"retainIp":               fld("boolean", "cuns"),
		"startOnCreate":          fld("boolean", "c").dflt(true),
		"assignServiceIpAddress": fld("boolean", "c").dflt(false),
		"createIndex":            fld("int", ""),
		"fqdn":                   fld("string", ""),
		"publicEndpoints":        fld("array[publicEndpoint]", ""),
		"system":                 fld("boolean", ""),
		"vip":                    fld("string", "cn"),
		"metadata":               fld("map[json]", "cuns"),
		"lbConfig":               fld("lbTargetConfig", "cuns"),
		"externalId":             fld("string", "cn"),
	})
	serviceFields["state"] = fld("enum", "").enum(serviceStates...)
	serviceActions := map[string]string{
		"activate": "", "deactivate": "", "update": "", "upgrade": "serviceUpgrade", "finishupgrade": "",
		"rollback": "", "cancelupgrade": "", "continueupgrade": "", "restart": "serviceRestart", "remove": "",
		"addservicelink": "addRemoveServiceLinkInput", "removeservicelink": "addRemoveServiceLinkInput",
		"setservicelinks": "setServiceLinksInput",
	}
	serviceFilters := func(fields map[string]Field) map[string][]string {
		return filters(fields, "accountId", "created", "description", "externalId", "healthState", "kind", "name",
			"removeTime", "removed", "selectorContainer", "selectorLink", "stackId", "state", "system", "uuid", "vip",
			"createIndex")
	}
	add(&Schema{ID: "service", PluralName: "services", BaseType: "service", Project: true,
		CollectionMethods: readCreate, ResourceMethods: crud, Fields: serviceFields, Actions: serviceActions,
		CollectionFilters: serviceFilters(serviceFields)})

	lbFields := withFields(serviceFields, map[string]Field{"lbConfig": fld("lbConfig", "cuns")})
	add(&Schema{ID: "loadBalancerService", PluralName: "loadBalancerServices", Parent: "service",
		BaseType: "service", Project: true, CollectionMethods: readCreate, ResourceMethods: crud, Fields: lbFields,
		Actions: serviceActions, CollectionFilters: serviceFilters(lbFields)})

	// DNS (alias) and external services have no containers: no scale, no sidekicks, no restart.
	noContainers := maps.Clone(serviceFields)
	for _, k := range []string{"scale", "scalePolicy", "currentScale", "secondaryLaunchConfigs", "lbConfig",
		"selectorContainer", "assignServiceIpAddress", "vip", "retainIp"} {
		delete(noContainers, k)
	}
	lessActions := maps.Clone(serviceActions)
	delete(lessActions, "restart")
	add(&Schema{ID: "dnsService", PluralName: "dnsServices", Parent: "service", BaseType: "service",
		Project: true, CollectionMethods: readCreate, ResourceMethods: crud, Fields: noContainers,
		Actions: lessActions, CollectionFilters: serviceFilters(noContainers)})
	extFields := withFields(noContainers, map[string]Field{
		"externalIpAddresses": fld("array[string]", "cuns"),
		"hostname":            fld("string", "cuns"),
		"healthCheck":         fld("instanceHealthCheck", "cn"),
	})
	add(&Schema{ID: "externalService", PluralName: "externalServices", Parent: "service", BaseType: "service",
		Project: true, CollectionMethods: readCreate, ResourceMethods: crud, Fields: extFields,
		Actions: lessActions, CollectionFilters: serviceFilters(extFields)})

	stackFields := withFields(commonFields(), map[string]Field{
		"name":               fld("string", "cur").chars(nameChars).lengths(1, 63),
		"dockerCompose":      fld("string", "cn"),
		"rancherCompose":     fld("string", "cn"),
		"environment":        fld("map[string]", "cn"),
		"externalId":         fld("string", "cun"),
		"startOnCreate":      fld("boolean", "c").dflt(true),
		"system":             fld("boolean", "c").dflt(false),
		"group":              fld("string", "cun"),
		"healthState":        fld("enum", "").enum(healthStates...),
		"serviceIds":         fld("array[reference[service]]", ""),
		"outputs":            fld("map[string]", ""),
		"previousExternalId": fld("string", "cun"),
	})
	add(&Schema{ID: "stack", PluralName: "stacks", BaseType: "stack", Project: true,
		CollectionMethods: readCreate, ResourceMethods: crud, Fields: stackFields,
		Actions: map[string]string{"activateservices": "", "deactivateservices": "", "addoutputs": "addOutputsInput",
			"cancelupgrade": "", "exportconfig": "composeConfigInput", "finishupgrade": "", "rollback": "",
			"upgrade": "stackUpgrade", "remove": "", "update": ""},
		CollectionFilters: filters(stackFields, "accountId", "created", "description", "externalId", "group",
			"healthState", "kind", "name", "removeTime", "removed", "state", "system", "uuid")})
}

func addInstanceSchemas(add func(*Schema)) {
	containerFields := withFields(commonFields(), map[string]Field{
		"imageUuid":             fld("string", "cr"),
		"command":               fld("array[string]", "cn"),
		"entryPoint":            fld("array[string]", "cn"),
		"environment":           fld("map[string]", "cn"),
		"labels":                fld("map[string]", "cn"),
		"ports":                 fld("array[string]", "cn"),
		"expose":                fld("array[string]", "cn"),
		"networkMode":           fld("enum", "cn").enum("bridge", "host", "managed", "none", "container").dflt("managed"),
		"requestedHostId":       fld("reference[host]", "cn"),
		"healthCheck":           fld("instanceHealthCheck", "cn"),
		"restartPolicy":         fld("restartPolicy", "cn"),
		"logConfig":             fld("logConfig", "cn"),
		"startOnCreate":         fld("boolean", "c").dflt(true),
		"privileged":            fld("boolean", "c").dflt(false),
		"tty":                   fld("boolean", "c").dflt(false),
		"stdinOpen":             fld("boolean", "c").dflt(false),
		"readOnly":              fld("boolean", "c").dflt(false),
		"publishAllPorts":       fld("boolean", "c").dflt(false),
		"workingDir":            fld("string", "cn"),
		"user":                  fld("string", "cn"),
		"hostname":              fld("string", "cn"),
		"domainName":            fld("string", "cn"),
		"dns":                   fld("array[string]", "cn"),
		"dnsSearch":             fld("array[string]", "cn"),
		"dataVolumes":           fld("array[string]", "cn"),
		"dataVolumesFrom":       fld("array[reference[container]]", "cn"),
		"volumeDriver":          fld("string", "cn"),
		"capAdd":                fld("array[string]", "cn"),
		"capDrop":               fld("array[string]", "cn"),
		"devices":               fld("array[string]", "cn"),
		"memory":                fld("int", "cn"),
		"cpuShares":             fld("int", "cn"),
		"instanceTriggeredStop": fld("enum", "c").enum("stop", "remove", "restart").dflt("stop"),
		"externalId":            fld("string", "cn"),
		"healthState":           fld("enum", "").enum(healthStates...),
		"hostId":                fld("reference[host]", ""),
		"serviceId":             fld("reference[service]", ""),
		"serviceIds":            fld("array[reference[service]]", ""),
		"stackId":               fld("reference[stack]", ""),
		"deploymentUnitUuid":    fld("string", ""),
		"version":               fld("string", ""),
		"createIndex":           fld("int", ""),
		"startCount":            fld("int", ""),
		"primaryIpAddress":      fld("string", ""),
		"firstRunning":          fld("date", ""),
		"system":                fld("boolean", ""),
		"nativeContainer":       fld("boolean", ""),
	})
	containerFields["state"] = fld("enum", "").enum(instanceStates...)
	instanceFilterNames := []string{"accountId", "created", "deploymentUnitUuid", "description", "externalId",
		"firstRunning", "healthState", "kind", "name", "removeTime", "removed", "state", "system", "uuid", "version",
		"createIndex", "startCount", "nativeContainer"}
	containerActions := map[string]string{
		"start": "", "stop": "instanceStop", "restart": "", "remove": "", "purge": "", "update": "", "migrate": "",
		"updatehealthy": "", "updateunhealthy": "", "updatereinitializing": "", "execute": "containerExec",
		"logs": "containerLogs", "console": "instanceConsoleInput", "proxy": "containerProxy",
	}
	add(&Schema{ID: "container", PluralName: "containers", Parent: "instance", BaseType: "instance", Project: true,
		CollectionMethods: readCreate, ResourceMethods: crud, Fields: containerFields, Actions: containerActions,
		CollectionFilters: filters(containerFields, instanceFilterNames...)})

	// /instances is the read-only base of every instance kind (§5): same fields, nothing creatable.
	instanceFields := map[string]Field{}
	for k, f := range containerFields {
		f.Create, f.Required, f.Default = false, false, nil
		instanceFields[k] = f
	}
	add(&Schema{ID: "instance", PluralName: "instances", BaseType: "instance", Project: true,
		CollectionMethods: readOnly, ResourceMethods: crud, Fields: instanceFields, Actions: containerActions,
		CollectionFilters: filters(instanceFields, instanceFilterNames...)})
}

func addHostSchemas(add func(*Schema)) {
	hostFields := withFields(commonFields(), map[string]Field{
		"hostname":                 fld("string", "cr"),
		"labels":                   fld("map[string]", "cuns"),
		"memory":                   fld("int", "cuns"),
		"milliCpu":                 fld("int", "cuns"),
		"localStorageMb":           fld("int", "cuns"),
		"agentState":               fld("string", ""),
		"agentIpAddress":           fld("string", ""),
		"agentId":                  fld("reference[agent]", ""),
		"driver":                   fld("string", ""),
		"computeTotal":             fld("int", ""),
		"info":                     fld("json", ""),
		"instanceIds":              fld("array[reference[instance]]", ""),
		"physicalHostId":           fld("reference[physicalHost]", ""),
		"publicEndpoints":          fld("array[publicEndpoint]", ""),
		"stackId":                  fld("reference[stack]", ""),
		"hostTemplateId":           fld("reference[hostTemplate]", "cn"),
		"engineEnv":                fld("map[string]", "cn"),
		"engineInsecureRegistry":   fld("array[string]", "cn"),
		"engineInstallUrl":         fld("string", "cn"),
		"engineLabel":              fld("map[string]", "cn"),
		"engineOpt":                fld("map[string]", "cn"),
		"engineRegistryMirror":     fld("array[string]", "cn"),
		"engineStorageDriver":      fld("string", "cn"),
		"authCertificateAuthority": fld("string", "cn"),
		"authKey":                  fld("string", "cn"),
		"dockerVersion":            fld("string", "cn"),
		"apiProxy":                 fld("string", "cn"),
	})
	hostFields["state"] = fld("enum", "").enum(hostStates...)
	for _, d := range machineDrivers {
		hostFields[d+"Config"] = fld(d+"Config", "cn")
	}
	add(&Schema{ID: "host", PluralName: "hosts", BaseType: "host", Project: true,
		CollectionMethods: readCreate, ResourceMethods: crud, Fields: hostFields,
		Actions: map[string]string{"activate": "", "deactivate": "", "evacuate": "", "remove": "", "purge": "",
			"update": "", "provision": "", "error": "", "dockersocket": ""},
		CollectionFilters: filters(hostFields, "accountId", "agentId", "agentState", "created", "description",
			"hostTemplateId", "hostname", "kind", "name", "physicalHostId", "removeTime", "removed", "state", "uuid")})

	tmplFields := withFields(commonFields(), map[string]Field{
		"name":         fld("string", "cr"),
		"driver":       fld("string", "cn"),
		"flavorPrefix": fld("string", "cn"),
		"publicValues": fld("json", "cn"),
		"secretValues": fld("json", "cn"),
	})
	add(&Schema{ID: "hostTemplate", PluralName: "hostTemplates", BaseType: "hostTemplate", Project: true,
		CollectionMethods: readCreate, ResourceMethods: readDelete, Fields: tmplFields,
		Actions: map[string]string{"remove": ""},
		CollectionFilters: filters(tmplFields, "accountId", "created", "description", "driver", "kind", "name",
			"removeTime", "removed", "state", "uuid")})

	for _, d := range machineDrivers {
		add(embedded(d+"Config", driverConfigFields(d)))
	}
}

// driverConfigFields are the docker-machine flags of a driver's <driver>Config, as strings/ints/booleans.
func driverConfigFields(driver string) map[string]Field {
	s := func() Field { return fld("string", "cun") }
	switch driver {
	case "amazonec2":
		return map[string]Field{
			"accessKey": s(), "secretKey": fld("password", "cun"), "sessionToken": fld("password", "cun"),
			"region": s().dflt("us-east-1"), "zone": s().dflt("a"), "ami": s(), "instanceType": s().dflt("t2.micro"),
			"vpcId": s(), "subnetId": s(), "securityGroup": fld("array[string]", "cun"), "rootSize": s().dflt("16"),
			"sshUser": s().dflt("ubuntu"), "sshKeypath": s(), "keypairName": s(), "iamInstanceProfile": s(),
			"tags": s(), "volumeType": s().dflt("gp2"), "privateAddressOnly": fld("boolean", "cun"),
			"requestSpotInstance": fld("boolean", "cun"), "spotPrice": s().dflt("0.50"),
			"useEbsOptimizedInstance": fld("boolean", "cun"), "useprivateaddress": fld("boolean", "cun"),
			"monitoring": fld("boolean", "cun"), "endpoint": s(), "deviceName": s().dflt("/dev/sda1"),
			"retries": s().dflt("5"), "insecureTransport": fld("boolean", "cun"),
		}
	case "digitalocean":
		return map[string]Field{
			"accessToken": fld("password", "cun"), "image": s().dflt("ubuntu-16-04-x64"), "region": s().dflt("nyc3"),
			"size": s().dflt("512mb"), "ipv6": fld("boolean", "cun"), "privateNetworking": fld("boolean", "cun"),
			"backups": fld("boolean", "cun"), "sshKeyFingerprint": s(), "sshUser": s().dflt("root"),
			"sshPort": s().dflt("22"), "userdata": s(), "tags": s(), "monitoring": fld("boolean", "cun"),
		}
	case "azure":
		return map[string]Field{
			"subscriptionId": s(), "clientId": s(), "clientSecret": fld("password", "cun"),
			"environment": s().dflt("AzurePublicCloud"), "location": s().dflt("westus"),
			"resourceGroup": s().dflt("docker-machine"), "size": s().dflt("Standard_A2"), "image": s(),
			"vnet": s(), "subnet": s(), "subnetPrefix": s(), "availabilitySet": s(), "sshUser": s(),
			"dockerPort": s().dflt("2376"), "storageType": s(), "staticPublicIp": fld("boolean", "cun"),
			"noPublicIp": fld("boolean", "cun"), "usePrivateIp": fld("boolean", "cun"), "openPort": fld("array[string]", "cun"),
		}
	case "packet":
		return map[string]Field{
			"apiKey": fld("password", "cun"), "projectId": s(), "os": s().dflt("ubuntu_16_04"),
			"facilityCode": s().dflt("ewr1"), "plan": s().dflt("baremetal_0"), "billingCycle": s().dflt("hourly"),
			"userdata": s(),
		}
	case "vmwarevsphere":
		return map[string]Field{
			"vcenter": s(), "vcenterPort": s().dflt("443"), "username": s(), "password": fld("password", "cun"),
			"datacenter": s(), "datastore": s(), "folder": s(), "hostsystem": s(), "network": fld("array[string]", "cun"),
			"pool": s(), "cpuCount": s().dflt("2"), "memorySize": s().dflt("2048"), "diskSize": s().dflt("20000"),
			"boot2dockerUrl": s(), "cloudinit": s(),
		}
	case "openstack":
		return map[string]Field{
			"authUrl": s(), "username": s(), "password": fld("password", "cun"), "tenantName": s(), "tenantId": s(),
			"region": s(), "flavorName": s(), "flavorId": s(), "imageName": s(), "imageId": s(), "netName": s(),
			"netId": s(), "sshUser": s().dflt("root"), "keypairName": s(), "secGroups": s(), "floatingipPool": s(),
			"availabilityZone": s(), "domainName": s(), "endpointType": s(),
		}
	case "exoscale":
		return map[string]Field{
			"apiKey": s(), "apiSecretKey": fld("password", "cun"), "availabilityZone": s().dflt("ch-dk-2"),
			"instanceProfile": s().dflt("small"), "diskSize": s().dflt("50"), "image": s(),
			"securityGroup": fld("array[string]", "cun"), "sshUser": s(), "url": s(), "userdata": s(),
		}
	case "rackspace":
		return map[string]Field{
			"username": s(), "apiKey": fld("password", "cun"), "region": s(), "flavorId": s().dflt("general1-1"),
			"imageId": s(), "sshUser": s().dflt("root"), "sshPort": s().dflt("22"), "dockerInstall": s().dflt("true"),
			"endpointType": s().dflt("publicURL"),
		}
	case "softlayer":
		return map[string]Field{
			"user": s(), "apiKey": fld("password", "cun"), "apiEndpoint": s(), "domain": s(),
			"region": s().dflt("dal01"), "cpu": s().dflt("2"), "memory": s().dflt("1024"), "diskSize": s().dflt("0"),
			"image": s(), "hourlyBilling": fld("boolean", "cun"), "localDisk": fld("boolean", "cun"),
			"privateNetOnly": fld("boolean", "cun"), "publicVlanId": s(), "privateVlanId": s(),
		}
	default: // generic: an existing machine reached over SSH
		return map[string]Field{
			"ipAddress": s(), "sshUser": s().dflt("root"), "sshPort": s().dflt("22"), "sshKey": fld("password", "cun"),
			"sshKeyPath": s(), "enginePort": s().dflt("2376"),
		}
	}
}

func addMiscSchemas(add func(*Schema)) {
	goFields := withFields(commonFields(), map[string]Field{
		"name":         fld("string", "cn"),
		"description":  fld("string", "cn"),
		"key":          fld("string", "cn"),
		"kind":         fld("string", "cn"),
		"resourceData": fld("map[json]", "cn"),
	})
	add(&Schema{ID: "genericObject", PluralName: "genericObjects", BaseType: "genericObject", Project: true,
		CollectionMethods: readCreate, ResourceMethods: readDelete, Fields: goFields,
		Actions: map[string]string{"remove": ""},
		CollectionFilters: filters(goFields, "accountId", "created", "description", "key", "kind", "name",
			"removeTime", "removed", "state", "uuid")})

	eventFields := withFields(commonFields(), map[string]Field{
		"eventType":         fld("string", "cr"),
		"externalId":        fld("string", "cn"),
		"reportedAccountId": fld("reference[account]", ""),
	})
	eventFilters := func(fields map[string]Field) map[string][]string {
		return filters(fields, "accountId", "created", "eventType", "externalId", "kind", "removeTime", "removed",
			"reportedAccountId", "state", "uuid")
	}
	add(&Schema{ID: "externalEvent", PluralName: "externalEvents", BaseType: "externalEvent", Project: true,
		CollectionMethods: readOnly, ResourceMethods: readOnly, Fields: eventFields, Actions: map[string]string{},
		CollectionFilters: eventFilters(eventFields)})
	hostEventFields := withFields(eventFields, map[string]Field{
		"hostId":     fld("reference[host]", "cn"),
		"hostLabel":  fld("string", "cn"),
		"deleteHost": fld("boolean", "c").dflt(false),
	})
	add(&Schema{ID: "externalHostEvent", PluralName: "externalHostEvents", Parent: "externalEvent",
		BaseType: "externalEvent", Project: true, CollectionMethods: readCreate, ResourceMethods: readOnly,
		Fields: hostEventFields, Actions: map[string]string{}, CollectionFilters: eventFilters(hostEventFields)})

	projectFields := withFields(commonFields(), map[string]Field{
		"name":             fld("string", "cun"),
		"orchestration":    fld("string", "cn").dflt("cattle"),
		"members":          fld("array[projectMember]", ""),
		"defaultNetworkId": fld("reference[network]", ""),
	})
	delete(projectFields, "accountId")
	add(&Schema{ID: "project", PluralName: "projects", BaseType: "account", Project: true,
		CollectionMethods: readOnly, ResourceMethods: readOnly, Fields: projectFields, Actions: map[string]string{},
		CollectionFilters: filters(projectFields, "created", "description", "kind", "name", "removeTime",
			"removed", "state", "uuid")})
}

// embedded builds the schema of a nested type (launchConfig, serviceUpgrade, ...): no collection of its own.
func embedded(id string, fields map[string]Field) *Schema {
	return &Schema{ID: id, PluralName: pluralOf(id), BaseType: id, CollectionMethods: noneMethods,
		ResourceMethods: readOnly, Fields: fields, Actions: map[string]string{}, CollectionFilters: map[string][]string{}}
}

// pluralOf is Cattle's naive pluraliser (it really says "restartPolicys").
func pluralOf(id string) string {
	if strings.HasSuffix(id, "s") {
		return id + "es"
	}
	return id + "s"
}

func addEmbeddedSchemas(add func(*Schema)) {
	launchConfig := map[string]Field{
		"imageUuid":                    fld("string", "cun"),
		"labels":                       fld("map[string]", "cun"),
		"environment":                  fld("map[string]", "cun"),
		"command":                      fld("array[string]", "cun"),
		"entryPoint":                   fld("array[string]", "cun"),
		"ports":                        fld("array[string]", "cun"),
		"expose":                       fld("array[string]", "cun"),
		"networkMode":                  fld("enum", "cun").enum("bridge", "host", "managed", "none", "container").dflt("managed"),
		"healthCheck":                  fld("instanceHealthCheck", "cun"),
		"restartPolicy":                fld("restartPolicy", "cun"),
		"logConfig":                    fld("logConfig", "cun"),
		"version":                      fld("string", ""),
		"startOnCreate":                fld("boolean", "cun"),
		"privileged":                   fld("boolean", "cun"),
		"tty":                          fld("boolean", "cun"),
		"stdinOpen":                    fld("boolean", "cun"),
		"workingDir":                   fld("string", "cun"),
		"user":                         fld("string", "cun"),
		"dataVolumes":                  fld("array[string]", "cun"),
		"dataVolumesFrom":              fld("array[reference[container]]", "cun"),
		"dataVolumesFromLaunchConfigs": fld("array[string]", "cun"),
		"networkLaunchConfig":          fld("string", "cun"),
		"memory":                       fld("int", "cun"),
		"cpuShares":                    fld("int", "cun"),
		"requestedHostId":              fld("reference[host]", "cun"),
		"instanceTriggeredStop":        fld("enum", "cun").enum("stop", "remove", "restart").dflt("stop"),
	}
	add(embedded("launchConfig", launchConfig))
	secondary := withFields(launchConfig, map[string]Field{"name": fld("string", "cur")})
	sc := embedded("secondaryLaunchConfig", secondary)
	sc.Parent = "launchConfig"
	add(sc)

	add(embedded("serviceUpgrade", map[string]Field{
		"inServiceStrategy": fld("inServiceUpgradeStrategy", "cn"),
		"toServiceStrategy": fld("toServiceUpgradeStrategy", "cn"),
	}))
	add(embedded("inServiceUpgradeStrategy", map[string]Field{
		"batchSize":                      fld("int", "cn").dflt(1).minVal(1),
		"intervalMillis":                 fld("int", "cn").dflt(2000).minVal(100),
		"startFirst":                     fld("boolean", "cn").dflt(false),
		"launchConfig":                   fld("launchConfig", "cn"),
		"secondaryLaunchConfigs":         fld("array[secondaryLaunchConfig]", "cn"),
		"previousLaunchConfig":           fld("launchConfig", ""),
		"previousSecondaryLaunchConfigs": fld("array[secondaryLaunchConfig]", ""),
	}))
	add(embedded("toServiceUpgradeStrategy", map[string]Field{
		"toServiceId":    fld("reference[service]", "cn"),
		"finalScale":     fld("int", "cn").dflt(1).minVal(1),
		"batchSize":      fld("int", "cn").dflt(1).minVal(1),
		"intervalMillis": fld("int", "cn").dflt(2000).minVal(100),
		"updateLinks":    fld("boolean", "cn").dflt(false),
	}))
	add(embedded("serviceRestart", map[string]Field{
		"rollingRestartStrategy": fld("rollingRestartStrategy", "cn"),
	}))
	add(embedded("rollingRestartStrategy", map[string]Field{
		"batchSize":      fld("int", "cn").dflt(1).minVal(1),
		"intervalMillis": fld("int", "cn").dflt(2000).minVal(100),
	}))
	add(embedded("scalePolicy", map[string]Field{
		"min":       fld("int", "cun").dflt(1).minVal(0),
		"max":       fld("int", "cun").dflt(1).minVal(0),
		"increment": fld("int", "cun").dflt(1).minVal(1),
	}))
	add(embedded("instanceHealthCheck", map[string]Field{
		"port":                fld("int", "crn").minVal(1).maxVal(65535),
		"requestLine":         fld("string", "cn"),
		"interval":            fld("int", "cn"),
		"responseTimeout":     fld("int", "cn"),
		"healthyThreshold":    fld("int", "cn"),
		"unhealthyThreshold":  fld("int", "cn"),
		"initializingTimeout": fld("int", "cn"),
		"strategy":            fld("enum", "cn").enum("none", "recreate", "recreateOnQuorum").dflt("recreate"),
	}))
	add(embedded("restartPolicy", map[string]Field{
		"name":              fld("string", "cu"),
		"maximumRetryCount": fld("int", "c"),
	}))
	add(embedded("logConfig", map[string]Field{
		"driver": fld("string", "cn"),
		"config": fld("map[string]", "cn"),
	}))
	add(embedded("addRemoveServiceLinkInput", map[string]Field{"serviceLink": fld("serviceLink", "cr")}))
	add(embedded("setServiceLinksInput", map[string]Field{"serviceLinks": fld("array[serviceLink]", "cn")}))
	add(embedded("serviceLink", map[string]Field{
		"name":      fld("string", "cn"),
		"serviceId": fld("reference[service]", "cr"),
	}))
	add(embedded("publicEndpoint", map[string]Field{
		"hostId":     fld("reference[host]", ""),
		"instanceId": fld("reference[instance]", ""),
		"ipAddress":  fld("string", ""),
		"port":       fld("int", ""),
		"serviceId":  fld("reference[service]", ""),
	}))
	add(embedded("lbConfig", map[string]Field{
		"certificateIds":       fld("array[reference[certificate]]", "cun"),
		"config":               fld("string", "cun"),
		"defaultCertificateId": fld("reference[certificate]", "cun"),
		"portRules":            fld("array[portRule]", "cun"),
		"stickinessPolicy":     fld("loadBalancerCookieStickinessPolicy", "cun"),
	}))
	add(embedded("lbTargetConfig", map[string]Field{"portRules": fld("array[targetPortRule]", "cun")}))
	add(embedded("instanceStop", map[string]Field{
		"remove":  fld("boolean", "cn"),
		"timeout": fld("int", "cn"),
	}))
	add(embedded("loadBalancerCookieStickinessPolicy", map[string]Field{
		"name": fld("string", "cu"), "cookie": fld("string", "cu"), "domain": fld("string", "cu"),
		"indirect": fld("boolean", "cun"), "nocache": fld("boolean", "cun"), "postonly": fld("boolean", "cun"),
		"mode": fld("enum", "cu").enum("rewrite", "insert", "prefix"),
	}))
	// Inputs and outputs of the actions the emulator declares but does not run (interactive container
	// access, stack upgrades): present so the schemas are complete.
	add(embedded("containerExec", map[string]Field{
		"command": fld("array[string]", "cr"), "attachStdin": fld("boolean", "cn"),
		"attachStdout": fld("boolean", "cn"), "tty": fld("boolean", "cn"),
	}))
	add(embedded("containerLogs", map[string]Field{"follow": fld("boolean", "cn"), "lines": fld("int", "cn")}))
	add(embedded("containerProxy", map[string]Field{"port": fld("int", "cn"), "scheme": fld("enum", "cn").enum("http", "https")}))
	add(embedded("instanceConsoleInput", map[string]Field{}))
	add(embedded("instanceConsole", map[string]Field{"kind": fld("string", ""), "url": fld("string", ""), "password": fld("password", "")}))
	add(embedded("hostAccess", map[string]Field{"token": fld("string", ""), "url": fld("string", "")}))
	add(embedded("addOutputsInput", map[string]Field{"outputs": fld("map[string]", "cn")}))
	add(embedded("composeConfigInput", map[string]Field{"serviceIds": fld("array[reference[service]]", "cn")}))
	add(embedded("stackUpgrade", map[string]Field{
		"dockerCompose": fld("string", "cn"), "rancherCompose": fld("string", "cn"),
		"environment": fld("map[string]", "cn"), "externalId": fld("string", "cn"),
	}))
}

func addAPISchemas(add func(*Schema)) {
	add(&Schema{ID: "schema", PluralName: "schemas", BaseType: "schema", CollectionMethods: readOnly,
		ResourceMethods: readOnly, Actions: map[string]string{}, CollectionFilters: map[string][]string{},
		Fields: map[string]Field{
			"collectionActions": fld("map[json]", ""), "collectionFields": fld("map[json]", ""),
			"collectionFilters": fld("map[json]", ""), "collectionMethods": fld("array[string]", ""),
			"includeableLinks": fld("array[string]", ""), "pluralName": fld("string", ""),
			"resourceActions": fld("map[json]", ""), "resourceFields": fld("map[json]", ""),
			"resourceMethods": fld("array[string]", ""),
		}})
	add(&Schema{ID: "apiVersion", PluralName: "apiVersions", BaseType: "apiVersion", CollectionMethods: readOnly,
		ResourceMethods: readOnly, Actions: map[string]string{}, CollectionFilters: map[string][]string{},
		Fields: map[string]Field{}})
	add(&Schema{ID: "error", PluralName: "errors", BaseType: "error", CollectionMethods: noneMethods,
		ResourceMethods: readOnly, Actions: map[string]string{}, CollectionFilters: map[string][]string{},
		Fields: map[string]Field{
			"status": fld("int", ""), "code": fld("string", ""), "message": fld("string", ""),
			"detail": fld("string", ""), "fieldName": fld("string", ""),
		}})
	subscribeFields := map[string]Field{
		"eventNames": fld("array[string]", "c").chars("*._0-9a-zA-Z;=").lengths(1, -1),
		"agentId":    fld("reference[agent]", "cn"),
	}
	add(&Schema{ID: "subscribe", PluralName: "subscribe", BaseType: "subscribe", CollectionMethods: readCreate,
		ResourceMethods: readOnly, Actions: map[string]string{}, Fields: subscribeFields,
		CollectionFilters: map[string][]string{"eventNames": {"eq"}}})
	add(&Schema{ID: "publish", PluralName: "publish", BaseType: "publish", CollectionMethods: createOnly,
		ResourceMethods: noneMethods, Actions: map[string]string{}, CollectionFilters: map[string][]string{},
		Fields: map[string]Field{
			"name":                         fld("string", "cr"),
			"previousIds":                  fld("array[string]", "cn"),
			"previousNames":                fld("array[string]", "cn"),
			"data":                         fld("map[json]", "cn"),
			"transitioning":                fld("enum", "cn").enum("yes", "no", "error"),
			"transitioningMessage":         fld("string", "cn"),
			"transitioningInternalMessage": fld("string", "cn"),
			"transitioningProgress":        fld("int", "cn"),
			"resourceId":                   fld("string", "cn"),
			"resourceType":                 fld("string", "cn"),
			"publisher":                    fld("string", "cn"),
			"time":                         fld("date", "cn"),
		}})
}
