// Package assets holds Branchline's embedded images.
package assets

import _ "embed"

// Icon is the application icon, 512×512 PNG.
//
//go:embed icon.png
var Icon []byte
