package cattlesim

import (
	"fmt"
	"time"
)

// Seeds fill an empty emulator with well-known content so tests and `scale-subscriber dev` start from the
// same world. Both seeds create projects 1a5 ("Default") and 1a7 ("Second") and four API keys: an environment
// key of each project, an admin key and a service key. "demo" adds, settled (no transition left, containers
// running and healthy), in 1a5: hosts worker-01, worker-02 (amazonec2 machines) and custom-01 (custom host),
// all labelled pool=workers and created in that order; stack demo with services web (scale 2, nginx), worker
// (scale 1 plus sidekick worker-sidekick), lb (loadBalancerService, haproxy) and the global service monitor
// (one container per active host); and in 1a7 a stack other with a service api, for isolation tests (1a7 has no
// host, so api's container runs unplaced).

// Seed names.
const (
	SeedDemo  = "demo"
	SeedEmpty = "empty"
)

// Well-known ids of the seeded projects.
const (
	DefaultProjectID = "1a5"
	SecondProjectID  = "1a7"
)

// SeedOptions configures a seed.
type SeedOptions struct {
	// AccessKey and SecretKey are the environment key pair of project 1a5; empty parts are generated.
	AccessKey, SecretKey string
}

// SeedInfo describes what a seed created.
type SeedInfo struct {
	// Name is the seed that ran.
	Name string
	// Credentials are, in order: the environment key of 1a5, the environment key of 1a7, the admin key and the
	// service key (the RAW-subscriber kind webhook-style services use).
	Credentials []Credential
	// Projects are the API ids of the seeded projects: 1a5, 1a7.
	Projects []string
	// Objects maps "<project>/<type>/<name>" (e.g. "1a5/service/web", "1a5/host/worker-01") to API ids.
	Objects map[string]string
}

// Seed fills the emulator with the named seed ("demo" or "empty"). It fails on an unknown name or when the
// well-known projects already exist.
func (s *Sim) Seed(name string, opts SeedOptions) (*SeedInfo, error) {
	if name != SeedDemo && name != SeedEmpty {
		return nil, fmt.Errorf("unknown seed %q: want %q or %q", name, SeedDemo, SeedEmpty)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.getLocked("account", 5) != nil || s.getLocked("account", 7) != nil {
		return nil, fmt.Errorf("seed %q: projects %s/%s already exist", name, DefaultProjectID, SecondProjectID)
	}
	info := &SeedInfo{Name: name, Projects: []string{DefaultProjectID, SecondProjectID}, Objects: map[string]string{}}
	s.seedProjectLocked(5, "Default")
	s.seedProjectLocked(7, "Second")

	access, secret := opts.AccessKey, opts.SecretKey
	if access == "" {
		access = s.randomKeyLocked(20, "0123456789ABCDEF")
	}
	if secret == "" {
		secret = s.randomKeyLocked(40, alnum)
	}
	info.Credentials = []Credential{
		{AccessKey: access, SecretKey: secret, AccountID: 5, Kind: KindProject},
		s.generatedCredentialLocked(7, KindProject),
		s.generatedCredentialLocked(1, KindAdmin),
		s.generatedCredentialLocked(2, KindService),
	}
	for _, c := range info.Credentials {
		s.creds[c.AccessKey] = c
	}
	if name == SeedDemo {
		s.seedDemoLocked(info)
	}
	return info, nil
}

const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randomKeyLocked draws a key from the emulator's seeded source.
func (s *Sim) randomKeyLocked(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[s.rng.Intn(len(alphabet))]
	}
	return string(b)
}

func (s *Sim) generatedCredentialLocked(account int64, kind string) Credential {
	return Credential{AccessKey: s.randomKeyLocked(20, "0123456789ABCDEF"), SecretKey: s.randomKeyLocked(40, alnum),
		AccountID: account, Kind: kind}
}

// seedProjectLocked stores an active project (account of kind project) under a fixed id.
func (s *Sim) seedProjectLocked(id int64, name string) {
	s.insertWithIDLocked(&Object{Type: "project", BaseType: "account", AccountID: id, State: "active",
		Fields: map[string]any{"name": name, "description": "", "kind": "project", "orchestration": "cattle"}}, id)
}

// seedDemoLocked builds the demo world, settled.
func (s *Sim) seedDemoLocked(info *SeedInfo) {
	record := func(project string, o *Object) {
		info.Objects[project+"/"+o.BaseType+"/"+o.Str("name")] = o.APIID()
	}
	base := s.now().UTC().Truncate(time.Second)
	for i, name := range []string{"worker-01", "worker-02"} {
		record(DefaultProjectID, s.seedHostLocked(5, name, "amazonec2", amazonec2Config(name),
			base.Add(time.Duration(i-3)*time.Minute)))
	}
	record(DefaultProjectID, s.seedHostLocked(5, "custom-01", "", nil, base.Add(-time.Minute)))

	demo := s.seedStackLocked(5, "demo")
	record(DefaultProjectID, demo)
	record(DefaultProjectID, s.seedServiceLocked(demo, "service", "web", 2,
		map[string]any{"imageUuid": "docker:nginx:1.13", "labels": map[string]any{"app": "web"},
			"ports": []any{"8080:80/tcp"}}, nil))
	record(DefaultProjectID, s.seedServiceLocked(demo, "service", "worker", 1,
		map[string]any{"imageUuid": "docker:busybox:1.36", "labels": map[string]any{"app": "worker"},
			"command": []any{"sh", "-c", "while true; do sleep 3600; done"}},
		[]any{map[string]any{"name": "worker-sidekick", "imageUuid": "docker:busybox:1.36",
			"labels": map[string]any{"app": "worker"}, "command": []any{"sleep", "86400"}}}))
	record(DefaultProjectID, s.seedServiceLocked(demo, "loadBalancerService", "lb", 1,
		map[string]any{"imageUuid": "docker:rancher/lb-service-haproxy:v0.7.15", "ports": []any{"80:80/tcp"}},
		nil))
	record(DefaultProjectID, s.seedServiceLocked(demo, "service", "monitor", 1,
		map[string]any{"imageUuid": "docker:prom/node-exporter:v0.15.2",
			"labels": map[string]any{labelGlobal: "true"}}, nil))

	other := s.seedStackLocked(7, "other")
	record(SecondProjectID, other)
	record(SecondProjectID, s.seedServiceLocked(other, "service", "api", 1,
		map[string]any{"imageUuid": "docker:httpd:2.4", "labels": map[string]any{"app": "api"}}, nil))
}

// amazonec2Config is a realistic docker-machine amazonec2 driver config (example credentials from AWS docs).
func amazonec2Config(hostname string) map[string]any {
	return map[string]any{
		"type": "amazonec2Config", "accessKey": "AKIAIOSFODNN7EXAMPLE",
		"secretKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "ami": "ami-5e8bb23b",
		"region": "us-west-2", "zone": "a", "instanceType": "t2.medium", "rootSize": "16",
		"vpcId": "vpc-0a1b2c3d", "subnetId": "subnet-4e5f6a7b", "securityGroup": []any{"rancher-machine"},
		"sshUser": "ubuntu", "deviceName": "/dev/sda1", "volumeType": "gp2", "keypairName": "",
		"iamInstanceProfile": "", "monitoring": false, "privateAddressOnly": false, "requestSpotInstance": false,
		"spotPrice": "0.50", "retries": "5", "tags": "rancher-host," + hostname, "useEbsOptimizedInstance": false,
		"usePrivateAddress": false, "insecureTransport": false, "openPort": []any{}, "sessionToken": "",
	}
}

// seedHostLocked stores an active host; driver "" makes a custom host (no driver, no config).
func (s *Sim) seedHostLocked(account int64, hostname, driver string, config map[string]any, created time.Time) *Object {
	f := map[string]any{"hostname": hostname, "name": hostname, "kind": "host",
		"labels": map[string]any{"pool": "workers"}, "agentState": nil, "instanceIds": []any{}, "driver": nil}
	if driver != "" {
		f["driver"] = driver
		f[driver+"Config"] = config
	}
	h := s.insertLocked(&Object{Type: "host", BaseType: "host", AccountID: account, State: "active",
		Created: created, Fields: f})
	h.Fields["agentIpAddress"] = fmt.Sprintf("10.0.%d.%d", (h.ID/250)%256, h.ID%250+10)
	return h
}

// seedStackLocked stores an active stack.
func (s *Sim) seedStackLocked(account int64, name string) *Object {
	return s.insertLocked(&Object{Type: "stack", BaseType: "stack", AccountID: account, State: "active",
		Fields: map[string]any{"name": name, "kind": "stack", "description": "", "serviceIds": []any{},
			"startOnCreate": true}})
}

// seedServiceLocked stores a service with its units already deployed and running, then marks it active.
func (s *Sim) seedServiceLocked(stack *Object, kind, name string, scale int, lc map[string]any,
	sidekicks []any) *Object {
	f := map[string]any{"name": name, "stackId": stack.APIID(), "scale": float64(scale), "launchConfig": lc,
		"startOnCreate": true, "kind": kind, "createIndex": float64(0), "currentScale": float64(0),
		"instanceIds": []any{}, "upgrade": nil, "system": false}
	normalizeLaunchConfig(lc, "launchConfig")
	if sidekicks != nil {
		for _, x := range sidekicks {
			if m, ok := x.(map[string]any); ok {
				normalizeLaunchConfig(m, "secondaryLaunchConfig")
			}
		}
		f["secondaryLaunchConfigs"] = sidekicks
	}
	// Built in "activating" so the deployment below does not look like a loss to reconcile.
	svc := s.insertLocked(&Object{Type: kind, BaseType: "service", AccountID: stack.AccountID, State: "activating",
		Transitioning: "yes", TransitioningMessage: "In Progress", Fields: f})
	if isGlobal(svc) {
		for _, h := range s.activeHostsLocked(svc.AccountID) {
			s.createUnitLocked(svc, h.APIID(), true)
		}
	} else {
		for range scale {
			s.createUnitLocked(svc, "", true)
		}
	}
	s.setStateLocked(svc, "active", false)
	s.refreshServiceLocked(svc)
	s.refreshStackLocked(stack.APIID(), stack.AccountID)
	return svc
}
