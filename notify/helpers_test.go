package notify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	"github.com/rancher/scale-subscriber/internal/simtest"
)

// waitTimeout bounds every wait in these tests; generous because -race on 2 cores is slow.
const waitTimeout = 10 * time.Second

// eventually polls cond every 2 ms until it holds or waitTimeout passes, then fails the test with msg.
func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	simtest.EventuallyEvery(t, waitTimeout, 2*time.Millisecond, msg, func() (bool, string) { return cond(), "" })
}

// syncBuffer is a buffer a logger writes to while the test reads it.
type syncBuffer = simtest.LogBuffer

// newTestLogger returns a Debug-level logger whose output the test can read.
func newTestLogger() (*logrus.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	l := logrus.New()
	l.SetOutput(buf)
	l.SetLevel(logrus.DebugLevel)
	l.SetFormatter(&logrus.TextFormatter{DisableColors: true, DisableTimestamp: true})
	return l, buf
}

// newTestMetrics returns Metrics registered on a private registry.
func newTestMetrics(t *testing.T) (*Metrics, *prometheus.Registry) {
	t.Helper()
	return simtest.Registered(t, NewMetrics)
}

// testPKI is a CA generated for one test and a server certificate it signed for 127.0.0.1 and localhost.
type testPKI struct {
	caPEM  []byte
	server *tls.Config
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("ca key: %v", err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "notify test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatalf("ca cert: %v", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatalf("parse ca cert: %v", err)
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("leaf key: %v", err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatalf("leaf cert: %v", err)
	}
	return testPKI{
		caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		server: &tls.Config{
			Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}},
			MinVersion:   tls.VersionTLS12,
		},
	}
}

// freeClosedAddr returns a 127.0.0.1 address nothing listens on (it was free a moment ago).
func freeClosedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatalf("close listener: %v", err)
	}
	return addr
}

// sampleTime is a fixed instant for messages.
func sampleTime() time.Time { return time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC) }

// testMessage is a rolled-back upgrade of one service.
func testMessage(id string) Message {
	t0 := sampleTime()
	started := t0.Add(12 * time.Millisecond)
	return Message{
		ExecutionID:  id,
		ReceiverID:   "1go4",
		ReceiverName: "web-push",
		ProjectID:    "1a5",
		Driver:       "serviceUpgrade",
		State:        StateRolledBack,
		Reason:       "2 of 3 new containers unhealthy after 60s",
		Input:        "push docker.io/library/nginx:1.14.1",
		Image:        ImageChange{Old: "docker.io/library/nginx:1.14.0", New: "docker.io/library/nginx:1.14.1"},
		Services: []Service{{ID: "1s5", Name: "web", Stack: "prod", OldImage: "docker.io/library/nginx:1.14.0",
			NewImage: "docker.io/library/nginx:1.14.1", State: StateRolledBack, Millis: 61234}},
		Received:     t0,
		Started:      &started,
		Finished:     t0.Add(61262 * time.Millisecond),
		QueuedMillis: 12,
		RunMillis:    61250,
		Steps: []Step{
			{At: started, Name: "upgrade started", Detail: "batch 1 of 1"},
			{At: t0.Add(61 * time.Second), Name: "unhealthy", Detail: "2 of 3 new containers"},
			{At: t0.Add(61262 * time.Millisecond), Name: "rolled back"},
		},
	}
}

// runNotifier runs n until the test ends and fails the test if Run errs.
func runNotifier(t *testing.T, n *Notifier) {
	t.Helper()
	ctx, cancel := contextWithCancel(t)
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := simtest.Recv(t, done, waitTimeout, "notifier run to return"); err != nil {
			t.Errorf("run: %v", err)
		}
	})
}

// results collects OnResult calls.
type results struct{ ch chan Result }

func newResults() *results { return &results{ch: make(chan Result, 64)} }

func (r *results) on(res Result) { r.ch <- res }

func (r *results) next(t *testing.T) Result {
	t.Helper()
	return simtest.Recv(t, r.ch, waitTimeout, "a notification result")
}

func containsAny(s string, subs ...string) string {
	for _, sub := range subs {
		if sub != "" && strings.Contains(s, sub) {
			return sub
		}
	}
	return ""
}

// contextWithCancel is a context cancelled when the test ends at the latest.
func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx, cancel
}

// splitHostPort splits a 127.0.0.1:port address.
func splitHostPort(t *testing.T, addr string) (string, int) {
	t.Helper()
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("split %q: %v", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("port of %q: %v", addr, err)
	}
	return host, port
}
