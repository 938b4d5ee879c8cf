// Package webui is the receivers web page: a static page (HTML, CSS and vanilla JavaScript, embedded in the
// binary, nothing loaded from elsewhere) that the receivers API mounts at /v1-webhooks/ui/. It lists the
// project's receivers with their trigger URLs, creates, edits and deletes them, and shows the execution
// history live. The page talks only to the /v1-webhooks API of the origin that served it, relative to its own
// URL, so it works the same behind Rancher's proxy; the project comes from ?projectId= in the page's URL (or,
// behind the proxy, from the X-API-Project-Id header the proxy adds to the page's API calls).
package webui
