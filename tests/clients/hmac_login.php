<?php
// hmac_login.php — what a PHP site does with RunOrg (SPEC §6), with nothing but
// php-cli: it has logged its user in itself, signs an assertion for that user's
// contact with the site's key (hash_hmac), exchanges it for a token, reads and
// writes as the contact with that token (each write's `at` passed to the next
// request), then logs out. Run by `make test` (tests/api/test_identity.py).
//
//   RUNORG_URL=http://127.0.0.1:8080 RUNORG_DB=<db> RUNORG_KEY_ID=<key id> \
//   RUNORG_KEY=<key, hex> RUNORG_CONTACT=<contact id> php tests/clients/hmac_login.php
//
// Exits 0 after printing "ok: logged out"; any surprise exits 1 with a message.

function env($name)
{
	$v = getenv($name);
	if ($v === false || $v === '') {
		fwrite(STDERR, "$name is not set\n");
		exit(2);
	}
	return $v;
}

$url = rtrim(env('RUNORG_URL'), '/');
$db = env('RUNORG_DB');
$keyId = env('RUNORG_KEY_ID');
$key = hex2bin(env('RUNORG_KEY'));
$contact = env('RUNORG_CONTACT');

// One request: [status, decoded JSON body]. $at (a clock from an earlier
// answer) makes RunOrg wait until that write is applied.
function runorg($method, $path, $body = null, $token = null, $at = null)
{
	global $url;
	$headers = ["Content-Type: application/json"];
	if ($token !== null)
		$headers[] = "Authorization: RUNORG token=$token";
	if ($at !== null)
		$path .= '?at=' . rawurlencode(json_encode($at));
	$context = stream_context_create(['http' => [
		'method' => $method,
		'header' => implode("\r\n", $headers),
		'content' => $body === null ? '' : json_encode($body),
		'ignore_errors' => true, // give us the body of 4xx answers too
		'timeout' => 20,
	]]);
	$text = file_get_contents($url . $path, false, $context);
	if ($text === false || !isset($http_response_header[0]))
		fail("$method $path: no answer");
	preg_match('/^HTTP\/\S+ (\d+)/', $http_response_header[0], $m);
	return [(int)$m[1], json_decode($text, true)];
}

function fail($why)
{
	fwrite(STDERR, "hmac_login.php: $why\n");
	exit(1);
}

function expect($what, $status, $want)
{
	if ($status !== $want)
		fail("$what answered $status, expected $want");
}

// 1. The assertion: "this site vouches for $contact until $expires".
$expires = gmdate('Y-m-d\TH:i:s\Z', time() + 300);
$proof = hash_hmac('sha256', "auth:$contact:until:$expires", $key);
[$st, $login] = runorg('POST', "/db/$db/contacts/auth/hmac",
	['id' => $contact, 'expires' => $expires, 'key' => $keyId, 'proof' => $proof]);
expect('login', $st, 200);
$token = $login['token'];
if ($login['self']['id'] !== $contact)
	fail('the token is not the contact\'s');
echo "token $token for {$login['self']['name']}\n";

// 2. Read with it: who am I?
[$st, $me] = runorg('GET', "/db/$db/tokens/$token", null, $token);
expect('introspection', $st, 200);
if ($me['self']['id'] !== $contact)
	fail('introspection names another contact');

// 3. Write with it, each step waiting for the one before with at=.
[$st, $chat] = runorg('POST', "/db/$db/chat/create", ['subject' => 'From PHP', 'contacts' => [$contact]], $token);
expect('chat create', $st, 202);
[$st, $post] = runorg('POST', "/db/$db/chat/{$chat['id']}", ['body' => 'Hello from PHP'], $token, $chat['at']);
expect('chat post', $st, 202);
[$st, $items] = runorg('GET', "/db/$db/chat/{$chat['id']}/items", null, $token, $post['at']);
expect('chat items', $st, 200);
if ($items['items'][0]['body'] !== 'Hello from PHP' || $items['items'][0]['author'] !== $contact)
	fail('the message read back is not the one posted');
[$st, $put] = runorg('PUT', "/db/$db/contacts/$contact", ['fullname' => 'PHP User'], $token);
expect('contact update', $st, 202);
[$st, $self] = runorg('GET', "/db/$db/contacts/$contact", null, $token, $put['at']);
expect('contact read', $st, 200);
if ($self['name'] !== 'PHP User')
	fail('the update is not there with at=');
echo "ok: read and wrote as {$self['name']}\n";

// 4. Log out: the token is refused from the moment DELETE answers.
[$st, $out] = runorg('DELETE', "/db/$db/tokens/$token", null, $token);
expect('logout', $st, 200);
[$st, $after] = runorg('GET', "/db/$db/contacts/$contact", null, $token);
expect('request after logout', $st, 401);
echo "ok: logged out\n";
