package eventhub

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"testing"
)

func TestDeliveryNames(t *testing.T) {
	qualified := newRouter(Subscription{AccountID: "1a5", EventNames: []string{"resource.change", "foo;handler=x", "bar"}})
	raw := newRouter(Subscription{AccountID: "1a1", Raw: true, EventNames: []string{
		"resource.change", "foo;handler=h", "foo;account=5", "bar;account=1a5", "ping;handler=h"}})
	tests := []struct {
		name    string
		r       router
		account string
		event   string
		want    []string
	}{
		{"qualified own account", qualified, "1a5", "resource.change", []string{"resource.change"}},
		{"qualified other account", qualified, "1a7", "resource.change", nil},
		{"qualified no account", qualified, "", "resource.change", nil},
		{"qualified request cut at first semicolon", qualified, "1a5", "foo", []string{"foo"}},
		{"qualified never gets handler events", qualified, "1a5", "foo;handler=x", nil},
		{"qualified unrequested name", qualified, "1a5", "baz", nil},
		{"raw plain name for any account", raw, "1a7", "resource.change", []string{"resource.change"}},
		{"raw plain name without account", raw, "", "resource.change", []string{"resource.change"}},
		{"raw handler name verbatim", raw, "1a5", "foo;handler=h", []string{"foo;handler=h"}},
		{"raw other handler", raw, "1a5", "foo;handler=other", nil},
		{"raw numeric account qualifier", raw, "1a5", "foo", []string{"foo;account=5"}},
		{"raw numeric qualifier other account", raw, "1a6", "foo", nil},
		{"raw api id account qualifier", raw, "1a5", "bar", []string{"bar;account=1a5"}},
		{"no wildcards", newRouter(Subscription{Raw: true, EventNames: []string{"*"}}), "1a5", "foo", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.r.deliveryNames(tt.account, tt.event)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %q want %q", got, tt.want)
			}
		})
	}
}

func noRender(string, string) (json.RawMessage, string, bool) { return nil, "", false }

func TestValidateSubscription(t *testing.T) {
	tests := []struct {
		name       string
		sub        Subscription
		wantStatus int
		wantCode   string
	}{
		{"valid qualified", Subscription{AccountID: "1a5", EventNames: []string{"resource.change", "x;handler=y"}, Render: noRender}, 0, ""},
		{"valid raw without account", Subscription{Raw: true, EventNames: []string{"a.b_c*;agent=1"}, Render: noRender}, 0, ""},
		{"no names is fine", Subscription{AccountID: "1a5", Render: noRender}, 0, ""},
		{"bad character", Subscription{AccountID: "1a5", EventNames: []string{"my-handler"}, Render: noRender},
			http.StatusUnprocessableEntity, CodeInvalidCharacters},
		{"empty name", Subscription{AccountID: "1a5", EventNames: []string{""}, Render: noRender},
			http.StatusUnprocessableEntity, CodeInvalidCharacters},
		{"qualified without account", Subscription{EventNames: []string{"ping"}, Render: noRender},
			http.StatusInternalServerError, CodeInternalError},
		{"no render", Subscription{AccountID: "1a5"}, http.StatusInternalServerError, CodeInternalError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateSubscription(tt.sub)
			if tt.wantStatus == 0 {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			var se *SubscribeError
			if !errors.As(err, &se) {
				t.Fatalf("want *SubscribeError, got %v", err)
			}
			if se.Status != tt.wantStatus || se.Code != tt.wantCode {
				t.Fatalf("got %d %s want %d %s", se.Status, se.Code, tt.wantStatus, tt.wantCode)
			}
		})
	}
}
