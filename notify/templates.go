package notify

import (
	"fmt"
	htmltemplate "html/template"
	"strings"
	"text/template"
	"time"
)

// DefaultSubject is the subject template of an e-mail when the receiver sets none.
const DefaultSubject = `[scale-subscriber] {{.ReceiverName}}: {{.StateText}}{{if .Image.New}} {{.Image.New}}{{end}}`

// maxSubjectRunes bounds the rendered subject; a template over a long reason must not produce a header
// mail servers refuse.
const maxSubjectRunes = 200

// templateFuncs are available to every template.
func templateFuncs() map[string]any {
	return map[string]any{
		"ms":   func(d time.Duration) string { return d.Round(time.Millisecond).String() },
		"time": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 MST") },
	}
}

// subjectTemplate parses a subject template (DefaultSubject when empty) and checks it against a sample
// message, so a reference to a field that does not exist is refused when the receiver is saved, not when the
// first upgrade ends.
func subjectTemplate(src string) (*template.Template, error) {
	if src == "" {
		src = DefaultSubject
	}
	t, err := template.New("subject").Funcs(templateFuncs()).Parse(src)
	if err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	if _, err := renderSubject(t, sampleMessage()); err != nil {
		return nil, err
	}
	return t, nil
}

// renderSubject executes t and makes the result one bounded header line.
func renderSubject(t *template.Template, m Message) (string, error) {
	var b strings.Builder
	if err := t.Execute(&b, m); err != nil {
		return "", fmt.Errorf("execute template: %w", err)
	}
	s := strings.Join(strings.Fields(b.String()), " ")
	if r := []rune(s); len(r) > maxSubjectRunes {
		s = string(r[:maxSubjectRunes-1]) + "…"
	}
	return s, nil
}

// sampleMessage is a fully populated message for checking templates.
func sampleMessage() Message {
	now := time.Unix(0, 0).UTC()
	return Message{
		ExecutionID: "x1", ReceiverID: "1go1", ReceiverName: "sample", ProjectID: "1a5", Driver: "serviceUpgrade",
		State: StateFinished, Reason: "sample", Input: "push docker.io/library/nginx:1.14.1",
		Image:    ImageChange{Old: "nginx:1.14.0", New: "nginx:1.14.1", Digest: "sha256:00"},
		Services: []Service{{ID: "1s1", Name: "web", Stack: "prod", OldImage: "nginx:1.14.0", NewImage: "nginx:1.14.1", State: StateFinished}},
		Received: now, Started: &now, Finished: now,
		Steps: []Step{{At: now, Name: "upgrade started"}},
	}
}

// bodyTemplates parses the text body and its HTML alternative. They are parsed once per EmailSender rather
// than kept in package variables.
func bodyTemplates() (*template.Template, *htmltemplate.Template, error) {
	text, err := template.New("text").Funcs(templateFuncs()).Parse(textBodySource)
	if err != nil {
		return nil, nil, fmt.Errorf("parse text body template: %w", err)
	}
	html, err := htmltemplate.New("html").Funcs(templateFuncs()).Parse(htmlBodySource)
	if err != nil {
		return nil, nil, fmt.Errorf("parse html body template: %w", err)
	}
	return text, html, nil
}

// textBodySource is the plain-text body. Lines are kept short; CRLF conversion happens in the SMTP data writer.
const textBodySource = `Receiver {{.ReceiverName}} ({{.ReceiverID}}, {{.Driver}}): {{.StateText}}.
{{- with .Reason}}
Reason: {{.}}{{end}}
{{- with .Input}}
Trigger: {{.}}{{end}}
{{- if or .Image.Old .Image.New}}
Image: {{or .Image.Old "?"}} -> {{or .Image.New "?"}}{{with .Image.Digest}} ({{.}}){{end}}{{end}}

Services:
{{- range .Services}}
  - {{with .Stack}}{{.}}/{{end}}{{or .Name .ID}} ({{.ID}}){{with .State}}: {{.Text}}{{end}}
    {{- if or .OldImage .NewImage}}, {{.OldImage}} -> {{.NewImage}}{{end}}{{with .Detail}}, {{.}}{{end}}
{{- else}}
  (none)
{{- end}}

Received: {{time .Received}}
Finished: {{time .Finished}}
Queued {{ms .Queued}}, ran {{ms .Ran}}.
Execution: {{.ExecutionID}}
{{- with .Steps}}

Steps:
{{- range .}}
  {{time .At}}  {{.Name}}{{with .Detail}}: {{.}}{{end}}
{{- end}}{{end}}
`

// htmlBodySource is the optional HTML alternative; html/template escapes every value.
const htmlBodySource = `<!DOCTYPE html>
<html><body style="font-family: sans-serif">
<p>Receiver <b>{{.ReceiverName}}</b> ({{.ReceiverID}}, {{.Driver}}): <b>{{.StateText}}</b>.</p>
<table cellpadding="4">
{{with .Reason}}<tr><th align="left">Reason</th><td>{{.}}</td></tr>{{end}}
{{with .Input}}<tr><th align="left">Trigger</th><td>{{.}}</td></tr>{{end}}
{{if or .Image.Old .Image.New}}<tr><th align="left">Image</th><td><code>{{.Image.Old}}</code> &rarr; <code>{{.Image.New}}</code></td></tr>{{end}}
<tr><th align="left">Received</th><td>{{time .Received}}</td></tr>
<tr><th align="left">Finished</th><td>{{time .Finished}}</td></tr>
<tr><th align="left">Durations</th><td>queued {{ms .Queued}}, ran {{ms .Ran}}</td></tr>
<tr><th align="left">Execution</th><td>{{.ExecutionID}}</td></tr>
</table>
{{- with .Services}}
<h4>Services</h4>
<ul>{{range .}}<li>{{with .Stack}}{{.}}/{{end}}{{or .Name .ID}} ({{.ID}}){{with .State}}: {{.Text}}{{end}}{{if or .OldImage .NewImage}}, <code>{{.OldImage}}</code> &rarr; <code>{{.NewImage}}</code>{{end}}{{with .Detail}}, {{.}}{{end}}</li>{{end}}</ul>
{{- end}}
{{- with .Steps}}
<h4>Steps</h4>
<ol>{{range .}}<li>{{time .At}} {{.Name}}{{with .Detail}}: {{.}}{{end}}</li>{{end}}</ol>
{{- end}}
</body></html>
`
