package push

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/oauth2"

	"intercom"
)

// PostJSON posts body to url with a bearer token from tokens, as the
// OAuth-authorized providers (FCM, Push Kit) want, and returns the answer and
// up to 64 KiB of its body. When no answer came, it returns instead the
// result to report: a token exchange refused is a credential error, anything
// else a failure worth retrying.
func PostJSON(ctx context.Context, client *http.Client, tokens oauth2.TokenSource, url string, body []byte) (*http.Response, []byte, *intercom.PushResult) {
	tok, err := tokens.Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			return nil, nil, &intercom.PushResult{Outcome: intercom.SendCredentials, Status: re.Response.StatusCode,
				Reason: "token exchange refused: " + re.ErrorCode}
		}
		return nil, nil, &intercom.PushResult{Outcome: intercom.SendFailed, Reason: "token exchange: " + err.Error(), Retry: true}
	}
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
	if err != nil {
		return nil, nil, &intercom.PushResult{Outcome: intercom.SendFailed, Reason: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	tok.SetAuthHeader(req)
	res, err := client.Do(req)
	if err != nil {
		return nil, nil, &intercom.PushResult{Outcome: intercom.SendFailed, Reason: err.Error(), Retry: true}
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	return res, raw, nil
}

// TTL is what is left of m's life at this attempt as Google's and Huawei's
// APIs write a duration: whole seconds and "s", at least "1s".
func TTL(m intercom.PushMessage) string {
	return strconv.Itoa(max(1, int(m.TTL.Round(time.Second)/time.Second))) + "s"
}
