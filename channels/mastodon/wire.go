package mastodon

import "time"

// Wire shapes of the Mastodon client API, reduced to the fields the
// connector reads (docs.joinmastodon.org/entities/...). They are decoded
// defensively: a field that is missing decodes to its zero value and the
// code that uses it checks.

// wireAccount is an Account (docs.joinmastodon.org/entities/Account/).
type wireAccount struct {
	ID          string `json:"id"`
	Username    string `json:"username"`
	Acct        string `json:"acct"`
	DisplayName string `json:"display_name"`
}

// wireStatus is a Status (docs.joinmastodon.org/entities/Status/).
type wireStatus struct {
	ID          string      `json:"id"`
	CreatedAt   time.Time   `json:"created_at"`
	InReplyToID *string     `json:"in_reply_to_id"`
	Visibility  string      `json:"visibility"`
	SpoilerText string      `json:"spoiler_text"`
	Content     string      `json:"content"`
	Account     wireAccount `json:"account"`
}

func (s wireStatus) inReplyTo() string {
	if s.InReplyToID == nil {
		return ""
	}
	return *s.InReplyToID
}

// wireNotification is a Notification
// (docs.joinmastodon.org/entities/Notification/).
type wireNotification struct {
	ID        string      `json:"id"`
	Type      string      `json:"type"`
	CreatedAt time.Time   `json:"created_at"`
	Account   wireAccount `json:"account"`
	Status    *wireStatus `json:"status"`
}

// wireContext is a Context (docs.joinmastodon.org/entities/Context/).
type wireContext struct {
	Ancestors   []wireStatus `json:"ancestors"`
	Descendants []wireStatus `json:"descendants"`
}

// wireApp is a CredentialApplication
// (docs.joinmastodon.org/entities/Application/#CredentialApplication).
type wireApp struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// Visibilities of a status (docs.joinmastodon.org/entities/Status/#visibility).
const (
	visPublic   = "public"
	visUnlisted = "unlisted"
	visPrivate  = "private"
	visDirect   = "direct"
)

// contentTypePlain is the content_type of a status posted as written
// (GoToSocial's and Akkoma's POST /api/v1/statuses parameter; see
// testdata/README.md).
const contentTypePlain = "text/plain"
