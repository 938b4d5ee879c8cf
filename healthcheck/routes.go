package healthcheck

import (
	"errors"
	"net/http"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// routes builds the mux. Every route is wrapped so that only GET and HEAD
// are accepted and any panic becomes a JSON 500.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	ready := readOnly(http.HandlerFunc(s.serveReadiness))
	mux.Handle("/healthcheck", ready)
	mux.Handle("/readyz", ready)
	mux.Handle("/healthz", readOnly(http.HandlerFunc(s.serveLiveness)))
	mux.Handle("/metrics", readOnly(s.metricsHandler()))
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "not found")
	}))
	return s.recoverPanics(limitBody(mux))
}

// readOnly rejects every method but GET and HEAD with a JSON 405.
func readOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// limitBody caps request bodies; no route reads one, so anything large is
// a misbehaving client.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

// serveReadiness answers Rancher's health checker.
func (s *Server) serveReadiness(w http.ResponseWriter, r *http.Request) {
	results := runChecks(r.Context(), s.log, s.checkTimeout, s.checks)
	code, body, failure := summarize(results)
	s.noteReadiness(failure)
	writeJSON(w, code, body)
}

// serveLiveness answers "is the process loop responsive".
func (s *Server) serveLiveness(w http.ResponseWriter, r *http.Request) {
	results := runChecks(r.Context(), s.log, s.checkTimeout, s.liveness)
	code, body, failure := summarize(results)
	if failure != nil {
		s.log.WithField("err", failure).Warn("liveness checks failing")
	}
	writeJSON(w, code, body)
}

// summarize turns check results into the status code, the body and, when
// something failed, one error naming every failed check (sorted, so logs
// compare equal between runs).
func summarize(results map[string]error) (int, report, error) {
	body := report{Status: statusOK}
	if len(results) > 0 {
		body.Checks = make(map[string]string, len(results))
	}
	var failed []string
	for name, err := range results {
		if err == nil {
			body.Checks[name] = statusOK
			continue
		}
		body.Checks[name] = err.Error()
		failed = append(failed, name+": "+err.Error())
	}
	if len(failed) == 0 {
		return http.StatusOK, body, nil
	}
	sort.Strings(failed)
	body.Status = statusUnhealthy
	return http.StatusServiceUnavailable, body, errors.New(strings.Join(failed, "; "))
}

// noteReadiness logs only transitions, so a probe every 5s does not flood
// the log with the same failure.
func (s *Server) noteReadiness(failure error) {
	next := stateHealthy
	if failure != nil {
		next = stateUnhealthy
	}
	if prev := s.state.Swap(next); prev == next {
		return
	}
	if failure != nil {
		s.log.WithField("err", failure).Warn("health checks failing")
		return
	}
	s.log.Info("health checks passing")
}

// metricsHandler serves the injected Gatherer, or a JSON 404 without one.
func (s *Server) metricsHandler() http.Handler {
	if s.gatherer == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			writeError(w, http.StatusNotFound, "metrics not configured")
		})
	}
	return promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{
		ErrorLog:      promLogger{s: s},
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// promLogger adapts the injected logger to promhttp's Logger interface.
type promLogger struct {
	s *Server
}

func (l promLogger) Println(v ...any) {
	l.s.log.WithField("err", strings.TrimSpace(fmtln(v...))).Warn("metrics gather error")
}
