package e2e

// The web page (/v1-webhooks/ui/) in headless Chromium, driven with chromedp: Debian's /usr/bin/chromium, no
// browser download. The page is used as a person would (typing, clicking), senders are plain HTTP POSTs (like
// curl), and what the page shows is checked against the API and cattlesim. Screenshots go to $UI_SCREENSHOTS
// (or a temporary directory) and are checked to be PNG images.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// browserTimeout bounds the browser's whole life in a test; each step is bounded by waitTimeout or less.
const browserTimeout = 4 * time.Minute

// uiStepTimeout bounds one browser action (a click, a navigation, an evaluation).
const uiStepTimeout = 15 * time.Second

// chromiumPath finds Debian's chromium. Without it the test is skipped, except in CI (CI=true), where a missing
// browser is a failure: .ci/run installs it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed and CI=true: .ci/run must install Debian's chromium package")
	}
	t.Skip("chromium is not installed (apt-get install chromium); the browser test of the web page is skipped")
	return ""
}

// uiBrowser is one headless Chromium with one tab, closed when the test ends (before the service stops).
type uiBrowser struct {
	t     *testing.T
	tab   context.Context
	shots string
	saved []string // the screenshots this test wrote

	mu       sync.Mutex
	problems []string // uncaught exceptions and console errors of the page (network errors excluded)
}

// cspRecorder runs in the page before its own script: it records every Content-Security-Policy violation, so
// the test sees what the policy blocked.
const cspRecorder = `window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});`

// newBrowser starts the chromium at path with one tab allowed to use the clipboard on origin.
func newBrowser(t *testing.T, path, origin string) *uiBrowser {
	t.Helper()
	shots := os.Getenv("UI_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatalf("create the screenshot directory %s: %v", shots, err)
	}
	t.Logf("screenshots of the web page: %s", shots)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Flag("headless", "new"),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1400, 2000),
	)
	life, cancelLife := context.WithTimeout(context.Background(), browserTimeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(life, opts...)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	b := &uiBrowser{t: t, tab: tab, shots: shots}

	// The first action starts the browser; its context must be the tab's own (a shorter one would stop it).
	if err := chromedp.Do(tab); err != nil {
		cancelTab()
		cancelAlloc()
		cancelLife()
		t.Fatalf("start %s: %v", path, err)
	}
	consoleDone := make(chan struct{})
	messages := chromedp.Console(tab)
	go func() {
		defer close(consoleDone)
		for m, err := range messages {
			if err != nil {
				return // the tab closed
			}
			// Failed requests (the 4xx answers the page shows as messages) are logged by the network; anything
			// else at error level is the page's fault.
			if m.IsException() || (m.Type == chromedp.ConsoleError && m.Source != "network") {
				b.mu.Lock()
				b.problems = append(b.problems, m.String())
				b.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancelLife()
		select {
		case <-consoleDone:
		case <-time.After(waitTimeout):
			t.Errorf("the console reader did not stop within %s of closing the browser", waitTimeout)
		}
	})

	b.do("record CSP violations", func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspRecorder})
		return err
	})
	b.do("allow the clipboard", func(ctx context.Context) error {
		for _, name := range []string{"clipboard-read", "clipboard-write"} {
			if _, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
				Permission: &browser.PermissionDescriptor{Name: name}, Setting: browser.PermissionSettingGranted, Origin: origin,
			}); err != nil {
				return fmt.Errorf("grant %s: %w", name, err)
			}
		}
		return nil
	})
	return b
}

// do runs one bounded step in the tab and fails the test on an error.
func (b *uiBrowser) do(what string, f func(ctx context.Context) error) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.tab, uiStepTimeout)
	defer cancel()
	if err := f(ctx); err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
}

// actions runs chromedp actions as one bounded step.
func (b *uiBrowser) actions(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	b.do(what, func(ctx context.Context) error { return chromedp.Do(ctx, steps...) })
}

// eval evaluates a JavaScript expression in the page and decodes its value into out.
func (b *uiBrowser) eval(what, expr string, out any) {
	b.t.Helper()
	b.do(what, func(ctx context.Context) error {
		raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
		if err != nil {
			return err
		}
		if out == nil {
			return nil
		}
		return json.Unmarshal(raw, out)
	})
}

// check is what a wait expression returns: whether the page shows what is awaited, and what it shows instead.
type check struct {
	OK  bool   `json:"ok"`
	Why string `json:"why"`
}

// waitPage evaluates expr (which returns {ok, why}) until ok, for at most waitTimeout. The page is polled from
// Go: chromedp's own Poll compiles its predicate with new Function, which the page's CSP rightly refuses.
func (b *uiBrowser) waitPage(what, expr string) {
	b.t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(b.tab, uiStepTimeout)
		c, err := chromedp.Run(ctx, chromedp.Evaluate[check](expr))
		cancel()
		why := c.Why
		if err != nil {
			why = err.Error()
		} else if c.OK {
			return
		}
		select {
		case <-deadline.C:
			b.t.Fatalf("the page: %s: not reached within %s: %s", what, waitTimeout, why)
		case <-tick.C:
		}
	}
}

// textOf is a wait expression: the text of the element with that id contains want.
func textOf(id, want string) string {
	return fmt.Sprintf(`(() => { const n = document.getElementById(%s); const s = n ? n.textContent : "(no element)";
  return { ok: s.includes(%s), why: "#" + %[1]s + " shows " + JSON.stringify(s) }; })()`, jsString(id), jsString(want))
}

// setField sets a form field as a person's input would (value, then input and change events).
func (b *uiBrowser) setField(id, value string) {
	b.t.Helper()
	b.eval("set #"+id, fmt.Sprintf(`(() => { const n = document.getElementById(%s); if (!n) throw new Error("no field");
  n.value = %s; n.dispatchEvent(new Event("input", { bubbles: true })); n.dispatchEvent(new Event("change", { bubbles: true }));
  return n.value; })()`, jsString(id), jsString(value)), nil)
}

// click clicks the element a CSS selector names, with the mouse.
func (b *uiBrowser) click(what, css string) {
	b.t.Helper()
	b.actions("click "+what, chromedp.Click(chromedp.CSS(css)))
}

// screenshot saves the viewport as a PNG file and checks it is one.
func (b *uiBrowser) screenshot(name string) {
	b.t.Helper()
	var shot []byte
	b.do("screenshot "+name, func(ctx context.Context) error {
		var err error
		shot, err = chromedp.Run(ctx, chromedp.CaptureScreenshot())
		return err
	})
	file := filepath.Join(b.shots, name+".png")
	if err := os.WriteFile(file, shot, 0o644); err != nil {
		b.t.Fatalf("save screenshot: %v", err)
	}
	checkPNG(b.t, file)
	b.saved = append(b.saved, file)
}

// checkPNG fails unless file is a non-empty PNG image of a real size.
func checkPNG(t *testing.T, file string) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("read screenshot: %v", err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("screenshot %s is not a PNG image (%d bytes): %v", file, len(raw), err)
	}
	if cfg.Width < 100 || cfg.Height < 100 {
		t.Fatalf("screenshot %s is %dx%d, want a page-sized image", file, cfg.Width, cfg.Height)
	}
	if _, err := png.Decode(bytes.NewReader(raw)); err != nil {
		t.Fatalf("screenshot %s does not decode: %v", file, err)
	}
}

// jsString is s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s) // a string always encodes
	return string(b)
}

// receiverNamed returns the receiver of that name from the API.
func (e *env) receiverNamed(name string) (receiver, bool) {
	e.t.Helper()
	a := e.api(http.MethodGet, "/v1-webhooks/receivers", nil)
	if a.status != http.StatusOK {
		e.t.Fatalf("list receivers: %s", a)
	}
	var c struct {
		Data []receiver `json:"data"`
	}
	if err := json.Unmarshal(a.body, &c); err != nil {
		e.t.Fatalf("decode receivers: %v: %s", err, a.body)
	}
	for _, r := range c.Data {
		if r.Name == name {
			return r, true
		}
	}
	return receiver{}, false
}

// executionRow is a wait expression: the executions table has a row of execution id whose outcome is want, and
// that row contains every text of wants.
func executionRow(id, outcome string, wants ...string) string {
	w, _ := json.Marshal(wants) // strings always encode
	return fmt.Sprintf(`(() => {
  const row = document.querySelector("#executions-body tr[data-id=" + JSON.stringify(%s) + "]");
  if (!row) return { ok: false, why: "no row; rows: " + JSON.stringify(Array.from(document.querySelectorAll("#executions-body tr")).map((r) => r.dataset.id + " " + r.dataset.outcome)) };
  const text = row.textContent;
  const missing = %s.filter((s) => !text.includes(s));
  return { ok: row.dataset.outcome === %s && missing.length === 0,
    why: "outcome " + row.dataset.outcome + ", missing " + JSON.stringify(missing) + " in " + JSON.stringify(text) };
})()`, jsString(id), w, jsString(outcome))
}

// The web page, end to end: it lists nothing at first; a receiver typed into its form with max below min shows
// the API's own message and creates nothing; corrected, it is created and listed with its trigger URL, which
// the Copy button puts on the clipboard; a POST to that URL (as curl sends) scales web in cattlesim, and the
// execution appears in the page by itself (the page polls with If-None-Match) with its decision and Cattle
// call; an edit keeps the trigger URL; an upgrade receiver created in the page shows each step of its upgrade
// live; a delete (confirmed) revokes the URL; idle polls are answered 304. Throughout, the page throws nothing
// and its CSP blocks nothing, while an injected inline script is blocked (the policy is in force).
func TestUIManagesReceiversAndShowsExecutionsLive(t *testing.T) {
	t.Parallel()
	chromium := chromiumPath(t)
	e := start(t)
	web := e.id("service/web")
	b := newBrowser(t, chromium, e.apiURL)

	// Without the trailing slash, the service redirects to the page.
	b.actions("open the page", chromedp.Navigate(e.apiURL+"/v1-webhooks/ui?projectId="+projectID))
	b.waitPage("the page loaded at /v1-webhooks/ui/", `({ ok: location.pathname === "/v1-webhooks/ui/", why: location.href })`)
	b.waitPage("the receivers listed", textOf("receivers-status", "0 receivers"))
	b.waitPage("the form built from the schemas", `({ ok: !!document.getElementById("f-scaleService-serviceId") &&
  !document.getElementById("config-scaleService").hidden, why: document.getElementById("driver-configs").textContent })`)
	b.waitPage("the executions polled", textOf("executions-state", "Live"))
	b.waitPage("the project shown", textOf("project", "Project "+projectID))
	b.screenshot("01-empty")

	// Max below min: the API refuses with its message, which the page shows as it is.
	b.actions("type the name", chromedp.SendKeys(chromedp.ID("f-name"), "ui-scale-web"))
	b.setField("f-scaleService-serviceId", web)
	b.setField("f-scaleService-action", "up")
	b.setField("f-scaleService-amount", "1")
	b.setField("f-scaleService-min", "5")
	b.setField("f-scaleService-max", "2")
	b.click("Create receiver", "#f-submit")
	b.waitPage("the validation message", textOf("form-error", "Max must be greater than min (HTTP 400)"))
	if _, ok := e.receiverNamed("ui-scale-web"); ok {
		t.Fatal("a receiver the API refused exists")
	}
	b.screenshot("02-validation-message")

	b.setField("f-scaleService-min", "1")
	b.setField("f-scaleService-max", "5")
	b.click("Create receiver", "#f-submit")
	b.waitPage("the creation confirmed", textOf("form-status", "Created receiver ui-scale-web."))
	r, ok := e.receiverNamed("ui-scale-web")
	if !ok {
		t.Fatal("the page said it created ui-scale-web, the API does not list it")
	}
	cfg := r.ScaleServiceConfig
	if r.Driver != "scaleService" || cfg["serviceId"] != web || cfg["action"] != "up" || cfg["amount"] != 1.0 ||
		cfg["min"] != 1.0 || cfg["max"] != 5.0 {
		t.Fatalf("created receiver is %s %v, want scaleService of %s up 1, min 1, max 5", r.Driver, cfg, web)
	}
	var shownURL string
	b.waitPage("the receiver listed with its trigger URL", fmt.Sprintf(`(() => {
  const input = document.querySelector("#receivers-body tr[data-id=" + JSON.stringify(%s) + "] input[readonly]");
  return { ok: !!input && input.value === %s, why: input ? input.value : document.getElementById("receivers-body").textContent };
})()`, jsString(r.ID), jsString(r.URL)))
	b.eval("read the shown URL", fmt.Sprintf(`document.getElementById(%s).value`, jsString("url-"+r.ID)), &shownURL)
	if !strings.HasPrefix(shownURL, e.apiURL+"/v1-webhooks/endpoint?key=") {
		t.Fatalf("the page shows trigger URL %q, want one on %s", redactURL(shownURL), e.apiURL)
	}

	// Copy puts the URL on the clipboard.
	b.click("Copy", `button[aria-label="Copy the trigger URL of ui-scale-web"]`)
	b.waitPage("the copy confirmed", textOf("copy-status", "Copied the trigger URL of ui-scale-web."))
	var clip string
	b.eval("read the clipboard", `navigator.clipboard.readText()`, &clip)
	if clip != r.URL {
		t.Fatalf("clipboard holds %q, want the trigger URL", redactURL(clip))
	}

	// A sender POSTs to the URL copied from the page; the execution shows up in the page without a reload.
	before := e.service(web).Scale
	a := e.trigger(clip, "", nil)
	if a.status != http.StatusOK {
		t.Fatalf("trigger: %s, want 200", a)
	}
	rep := decodeReply(t, a)
	if rep.From != before || rep.To != before+1 {
		t.Fatalf("trigger answered %s, want a scale from %d to %d", a.body, before, before+1)
	}
	if got := e.service(web).Scale; got != before+1 {
		t.Fatalf("web has scale %d after the trigger, want %d", got, before+1)
	}
	rec := e.execution(rep.ExecutionID)
	if rec.Decision == "" || len(rec.Calls) == 0 {
		t.Fatalf("execution %s has no decision or calls: %+v", rec.ID, rec)
	}
	call := rec.Calls[len(rec.Calls)-1]
	b.waitPage("the execution shown live", executionRow(rec.ID, "done", "ui-scale-web", rec.Decision,
		fmt.Sprintf("%s %s → %d", call.Method, call.Target, call.Status)))
	b.waitPage("the new execution announced", textOf("executions-announce", "New execution "+rec.ID+" of ui-scale-web"))
	b.actions("open the calls", chromedp.Click(chromedp.CSS(`#executions-body tr[data-id="`+rec.ID+`"] summary`)))
	b.eval("show the executions", `document.getElementById("executions-heading").scrollIntoView()`, nil)
	b.screenshot("03-execution-live")

	// Edit: the form is filled with the receiver; the saved receiver keeps its trigger URL.
	b.eval("back to the top", `window.scrollTo(0, 0)`, nil)
	b.click("Edit", `button[aria-label="Edit ui-scale-web"]`)
	b.waitPage("the edit form", textOf("form-heading", "Edit receiver ui-scale-web"))
	var maxShown string
	b.eval("read max", `document.getElementById("f-scaleService-max").value`, &maxShown)
	if maxShown != "5" {
		t.Fatalf("the edit form shows max %q, want 5", maxShown)
	}
	b.setField("f-scaleService-max", "7")
	b.click("Save changes", "#f-submit")
	b.waitPage("the edit saved", textOf("form-status", "Saved receiver ui-scale-web"))
	edited, ok := e.receiverNamed("ui-scale-web")
	if !ok || edited.ScaleServiceConfig["max"] != 7.0 || edited.URL != r.URL {
		t.Fatalf("after the edit the API has %+v, want max 7 and the same trigger URL", edited)
	}

	// An upgrade receiver made in the page: its execution's steps appear as the upgrade goes.
	b.setField("f-driver", "serviceUpgrade")
	b.waitPage("the upgrade fields shown", `({ ok: !document.getElementById("config-serviceUpgrade").hidden &&
  document.getElementById("config-scaleService").hidden, why: "driver " + document.getElementById("f-driver").value })`)
	b.actions("type the name", chromedp.SendKeys(chromedp.ID("f-name"), "ui-upgrade-web"))
	b.setField("f-serviceUpgrade-serviceSelector", "app=web")
	b.setField("f-serviceUpgrade-tag", "1.14")
	b.click("Create receiver", "#f-submit")
	b.waitPage("the upgrade receiver created", textOf("form-status", "Created receiver ui-upgrade-web."))
	up, ok := e.receiverNamed("ui-upgrade-web")
	if !ok || up.Driver != "serviceUpgrade" || up.ServiceUpgradeConfig["tag"] != "1.14" {
		t.Fatalf("the API has %+v, want a serviceUpgrade receiver on tag 1.14", up)
	}
	if sel, _ := up.ServiceUpgradeConfig["serviceSelector"].(map[string]any); sel["app"] != "web" {
		t.Fatalf("upgrade receiver selector %v, want app=web", up.ServiceUpgradeConfig["serviceSelector"])
	}
	if a := e.trigger(up.URL, "application/json", dockerHubPush); a.status != http.StatusAccepted {
		t.Fatalf("push: %s, want 202", a)
	}
	upRec := e.waitExecution(up, "service:"+web, "done", "failed", "rolled-back", "timed-out")
	if upRec.Outcome != "done" {
		t.Fatalf("upgrade ended %s: %s", upRec.Outcome, upRec.Error)
	}
	var full struct {
		Steps []struct {
			Message string `json:"message"`
		} `json:"steps"`
	}
	if err := json.Unmarshal(e.api(http.MethodGet, "/v1-webhooks/executions/"+upRec.ID, nil).body, &full); err != nil {
		t.Fatalf("decode execution %s: %v", upRec.ID, err)
	}
	if len(full.Steps) < 2 {
		t.Fatalf("upgrade execution has %d steps, want several", len(full.Steps))
	}
	wants := []string{"ui-upgrade-web", "nginx:1.14"}
	for _, s := range full.Steps {
		wants = append(wants, s.Message)
	}
	b.waitPage("the upgrade's steps shown", executionRow(upRec.ID, "done", wants...))
	b.waitPage("every step listed", fmt.Sprintf(`(() => {
  const n = document.querySelectorAll("#executions-body tr[data-id=" + JSON.stringify(%s) + "] ol.steps li").length;
  return { ok: n === %d, why: n + " steps listed" }; })()`, jsString(upRec.ID), len(full.Steps)))
	b.eval("show the upgrade", `document.querySelector("#executions-body tr[data-id=" + JSON.stringify(`+jsString(upRec.ID)+`) + "]").scrollIntoView()`, nil)
	b.screenshot("04-upgrade-steps")

	// Delete, confirmed in the page: the row goes and the trigger URL is revoked.
	b.eval("back to the top", `window.scrollTo(0, 0)`, nil)
	b.click("Delete", `button[aria-label="Delete ui-scale-web"]`)
	b.waitPage("the delete question", `(() => { const yes = document.querySelector('button[aria-label="Yes, delete ui-scale-web"]');
  return { ok: !!yes && document.activeElement === yes, why: document.activeElement ? document.activeElement.outerHTML : "" }; })()`)
	b.screenshot("05-delete-question")
	b.click("Yes, delete", `button[aria-label="Yes, delete ui-scale-web"]`)
	b.waitPage("the receiver gone from the list", fmt.Sprintf(`(() => {
  const row = document.querySelector("#receivers-body tr[data-id=" + JSON.stringify(%s) + "]");
  return { ok: !row && document.getElementById("receivers-status").textContent === "1 receiver",
    why: document.getElementById("receivers-body").textContent }; })()`, jsString(edited.ID)))
	if _, ok := e.receiverNamed("ui-scale-web"); ok {
		t.Fatal("the page deleted ui-scale-web, the API still lists it")
	}
	if a := e.trigger(r.URL, "", nil); a.status != http.StatusForbidden {
		t.Fatalf("trigger after the delete: %s, want 403", a)
	}

	// The page polls with If-None-Match: while nothing changes, the history answers 304 without a body.
	b.waitPage("idle polls answered 304", `(() => {
  const polls = performance.getEntriesByType("resource").filter((r) => r.name.includes("/v1-webhooks/executions"));
  return { ok: polls.some((r) => r.responseStatus === 304) && polls.some((r) => r.responseStatus === 200),
    why: polls.length + " polls, answered " + JSON.stringify(polls.map((r) => r.responseStatus)) }; })()`)

	// Nothing went wrong in the page, and its CSP is in force: an inline script is refused and reported.
	var violations []string
	b.eval("read CSP violations", `window.__cspViolations`, &violations)
	if len(violations) != 0 {
		t.Errorf("the page violated its Content-Security-Policy: %v", violations)
	}
	b.mu.Lock()
	problems := append([]string(nil), b.problems...)
	b.mu.Unlock()
	if len(problems) != 0 {
		t.Errorf("the page logged errors or threw: %s", strings.Join(problems, "\n"))
	}
	var ran bool
	b.eval("inject an inline script", `(() => { const s = document.createElement("script"); s.textContent = "window.__inlineRan = true";
  document.body.append(s); return !!window.__inlineRan; })()`, &ran)
	b.waitPage("the inline script reported", `({ ok: window.__cspViolations.some((v) => v.startsWith("script-src")), why: JSON.stringify(window.__cspViolations) })`)
	if ran {
		t.Error("an inline script ran: the Content-Security-Policy is not in force")
	}
	for _, f := range b.saved {
		checkPNG(t, f) // still there, still a picture
	}
	t.Logf("web page screenshots: %s", strings.Join(b.saved, ", "))
}
