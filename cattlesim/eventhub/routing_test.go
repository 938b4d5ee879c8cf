package eventhub

import (
	"testing"
)

func TestQualifiedAndRawRouting(t *testing.T) {
	e := newEnv(t, manual(Options{}))
	e.world.set("service", "1s1", map[string]any{"name": "web"})
	e.world.set("service", "1s2", map[string]any{"name": "db"})

	a := e.dial(query("1a5", false, "resource.change;handler=ignored", "foo", "sentinel"))
	b := e.dial(query("1a7", false, "resource.change", "sentinel"))
	r := e.dial(query("1a1", true, "resource.change", "foo;handler=h", "foo;account=5", "bar;account=1a5", "sentinel"))

	e.hub.ResourceChanged("1a7", "service", "1s2")
	e.hub.flush(nil)
	e.hub.ResourceChanged("1a5", "service", "1s1")
	e.hub.flush(nil)

	t.Run("qualified gets only its account, name stripped", func(t *testing.T) {
		f := a.nextNonPing()
		if f.ev.Name != "resource.change" || f.ev.ResourceID != "1s1" || f.ev.ResourceType != "service" {
			t.Fatalf("subscriber of 1a5 got %s", f.raw)
		}
		if res := resourceOf(t, f); res["renderedFor"] != "1a5" || res["name"] != "web" {
			t.Fatalf("resource not rendered for the subscriber: %v", res)
		}
		f = b.nextNonPing()
		if f.ev.ResourceID != "1s2" {
			t.Fatalf("subscriber of 1a7 got %s", f.raw)
		}
	})
	t.Run("raw gets every account", func(t *testing.T) {
		got := []string{r.nextNonPing().ev.ResourceID, r.nextNonPing().ev.ResourceID}
		if got[0] != "1s2" || got[1] != "1s1" {
			t.Fatalf("raw subscriber got %v", got)
		}
	})

	e.hub.Emit("1a5", Event{Name: "foo;handler=h", ReplyTo: "reply.1"})
	e.hub.Emit("1a5", Event{Name: "foo"})
	e.hub.Emit("1a5", Event{Name: "bar"})
	e.hub.Emit("1a7", Event{Name: "foo"})
	e.hub.Emit("", Event{Name: "sentinel;x=1"}) // only an exact RAW name could match; none asked
	e.hub.Emit("1a5", Event{Name: "sentinel"})
	e.hub.Emit("1a7", Event{Name: "sentinel"})

	tests := []struct {
		name string
		c    *client
		want []string
	}{
		// The qualified subscriber asked for foo: it gets its own account's
		// foo (stripped), never the ;handler= event.
		{"qualified", a, []string{"foo", "sentinel"}},
		{"other account", b, []string{"sentinel"}},
		// RAW: handler event verbatim, foo via the numeric account
		// qualifier, bar via the API id qualifier; foo of 1a7 matches none.
		{"raw", r, []string{"foo;handler=h", "foo;account=5", "bar;account=1a5", "sentinel", "sentinel"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, want := range tt.want {
				f := tt.c.nextNonPing()
				if f.ev.Name != want {
					t.Fatalf("event %d: got %s want name %q", i, f.raw, want)
				}
				if want == "foo;handler=h" && f.ev.ReplyTo != "reply.1" {
					t.Fatalf("replyTo lost: %s", f.raw)
				}
			}
		})
	}
}
