/* b64.c — streaming base64 codec (see b64.h).
 *
 * Speed matters here (mimecat decodes attachments at codec speed), so both
 * directions have a fast path: the encoder turns whole 76-column lines at a
 * time into output with no per-character bookkeeping, and the decoder takes
 * four alphabet characters at once and falls back to the byte-at-a-time
 * state machine only at line ends, padding and garbage. */
#include <string.h>

#include "b64.h"


enum { D_PAD = 0x40, D_EOL = 0x80, D_BAD = 0xff };

/* value of each input byte: 0..63, P (pad '='), E (CR, LF) or X (bad) */
#define P D_PAD
#define E D_EOL
#define X D_BAD
static const unsigned char dtab[256] = {
	X, X, X, X, X, X, X, X, X, X, E, X, X, E, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, 62, X, X, X, 63,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, X, X, X, P, X, X,
	X, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, X, X, X, X, X,
	X, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
};
#undef P
#undef E
#undef X

void b64_enc_init(struct b64_enc *e, size_t wrap, int crlf)
{
	memset(e, 0, sizeof *e);
	e->wrap = wrap;
	e->crlf = crlf;
}

size_t b64_enc_bound(const struct b64_enc *e, size_t n)
{
	size_t chars = (n + e->nhold + 2) / 3 * 4 + 4;

	if (e->wrap)
		chars += (chars / e->wrap + 2) * 2;
	return chars;
}

/* pairs[2*v] and pairs[2*v+1]: the two characters of the 12-bit value v.
 * The encoder looks up 12 bits at a time: half the lookups of the plain
 * alphabet, which is what makes it faster than coreutils. */
static const char pairs[2 * 4096 + 1] =
	"AAABACADAEAFAGAHAIAJAKALAMANAOAPAQARASATAUAVAWAXAYAZAaAbAcAdAeAf"
	"AgAhAiAjAkAlAmAnAoApAqArAsAtAuAvAwAxAyAzA0A1A2A3A4A5A6A7A8A9A+A/"
	"BABBBCBDBEBFBGBHBIBJBKBLBMBNBOBPBQBRBSBTBUBVBWBXBYBZBaBbBcBdBeBf"
	"BgBhBiBjBkBlBmBnBoBpBqBrBsBtBuBvBwBxByBzB0B1B2B3B4B5B6B7B8B9B+B/"
	"CACBCCCDCECFCGCHCICJCKCLCMCNCOCPCQCRCSCTCUCVCWCXCYCZCaCbCcCdCeCf"
	"CgChCiCjCkClCmCnCoCpCqCrCsCtCuCvCwCxCyCzC0C1C2C3C4C5C6C7C8C9C+C/"
	"DADBDCDDDEDFDGDHDIDJDKDLDMDNDODPDQDRDSDTDUDVDWDXDYDZDaDbDcDdDeDf"
	"DgDhDiDjDkDlDmDnDoDpDqDrDsDtDuDvDwDxDyDzD0D1D2D3D4D5D6D7D8D9D+D/"
	"EAEBECEDEEEFEGEHEIEJEKELEMENEOEPEQERESETEUEVEWEXEYEZEaEbEcEdEeEf"
	"EgEhEiEjEkElEmEnEoEpEqErEsEtEuEvEwExEyEzE0E1E2E3E4E5E6E7E8E9E+E/"
	"FAFBFCFDFEFFFGFHFIFJFKFLFMFNFOFPFQFRFSFTFUFVFWFXFYFZFaFbFcFdFeFf"
	"FgFhFiFjFkFlFmFnFoFpFqFrFsFtFuFvFwFxFyFzF0F1F2F3F4F5F6F7F8F9F+F/"
	"GAGBGCGDGEGFGGGHGIGJGKGLGMGNGOGPGQGRGSGTGUGVGWGXGYGZGaGbGcGdGeGf"
	"GgGhGiGjGkGlGmGnGoGpGqGrGsGtGuGvGwGxGyGzG0G1G2G3G4G5G6G7G8G9G+G/"
	"HAHBHCHDHEHFHGHHHIHJHKHLHMHNHOHPHQHRHSHTHUHVHWHXHYHZHaHbHcHdHeHf"
	"HgHhHiHjHkHlHmHnHoHpHqHrHsHtHuHvHwHxHyHzH0H1H2H3H4H5H6H7H8H9H+H/"
	"IAIBICIDIEIFIGIHIIIJIKILIMINIOIPIQIRISITIUIVIWIXIYIZIaIbIcIdIeIf"
	"IgIhIiIjIkIlImInIoIpIqIrIsItIuIvIwIxIyIzI0I1I2I3I4I5I6I7I8I9I+I/"
	"JAJBJCJDJEJFJGJHJIJJJKJLJMJNJOJPJQJRJSJTJUJVJWJXJYJZJaJbJcJdJeJf"
	"JgJhJiJjJkJlJmJnJoJpJqJrJsJtJuJvJwJxJyJzJ0J1J2J3J4J5J6J7J8J9J+J/"
	"KAKBKCKDKEKFKGKHKIKJKKKLKMKNKOKPKQKRKSKTKUKVKWKXKYKZKaKbKcKdKeKf"
	"KgKhKiKjKkKlKmKnKoKpKqKrKsKtKuKvKwKxKyKzK0K1K2K3K4K5K6K7K8K9K+K/"
	"LALBLCLDLELFLGLHLILJLKLLLMLNLOLPLQLRLSLTLULVLWLXLYLZLaLbLcLdLeLf"
	"LgLhLiLjLkLlLmLnLoLpLqLrLsLtLuLvLwLxLyLzL0L1L2L3L4L5L6L7L8L9L+L/"
	"MAMBMCMDMEMFMGMHMIMJMKMLMMMNMOMPMQMRMSMTMUMVMWMXMYMZMaMbMcMdMeMf"
	"MgMhMiMjMkMlMmMnMoMpMqMrMsMtMuMvMwMxMyMzM0M1M2M3M4M5M6M7M8M9M+M/"
	"NANBNCNDNENFNGNHNINJNKNLNMNNNONPNQNRNSNTNUNVNWNXNYNZNaNbNcNdNeNf"
	"NgNhNiNjNkNlNmNnNoNpNqNrNsNtNuNvNwNxNyNzN0N1N2N3N4N5N6N7N8N9N+N/"
	"OAOBOCODOEOFOGOHOIOJOKOLOMONOOOPOQOROSOTOUOVOWOXOYOZOaObOcOdOeOf"
	"OgOhOiOjOkOlOmOnOoOpOqOrOsOtOuOvOwOxOyOzO0O1O2O3O4O5O6O7O8O9O+O/"
	"PAPBPCPDPEPFPGPHPIPJPKPLPMPNPOPPPQPRPSPTPUPVPWPXPYPZPaPbPcPdPePf"
	"PgPhPiPjPkPlPmPnPoPpPqPrPsPtPuPvPwPxPyPzP0P1P2P3P4P5P6P7P8P9P+P/"
	"QAQBQCQDQEQFQGQHQIQJQKQLQMQNQOQPQQQRQSQTQUQVQWQXQYQZQaQbQcQdQeQf"
	"QgQhQiQjQkQlQmQnQoQpQqQrQsQtQuQvQwQxQyQzQ0Q1Q2Q3Q4Q5Q6Q7Q8Q9Q+Q/"
	"RARBRCRDRERFRGRHRIRJRKRLRMRNRORPRQRRRSRTRURVRWRXRYRZRaRbRcRdReRf"
	"RgRhRiRjRkRlRmRnRoRpRqRrRsRtRuRvRwRxRyRzR0R1R2R3R4R5R6R7R8R9R+R/"
	"SASBSCSDSESFSGSHSISJSKSLSMSNSOSPSQSRSSSTSUSVSWSXSYSZSaSbScSdSeSf"
	"SgShSiSjSkSlSmSnSoSpSqSrSsStSuSvSwSxSySzS0S1S2S3S4S5S6S7S8S9S+S/"
	"TATBTCTDTETFTGTHTITJTKTLTMTNTOTPTQTRTSTTTUTVTWTXTYTZTaTbTcTdTeTf"
	"TgThTiTjTkTlTmTnToTpTqTrTsTtTuTvTwTxTyTzT0T1T2T3T4T5T6T7T8T9T+T/"
	"UAUBUCUDUEUFUGUHUIUJUKULUMUNUOUPUQURUSUTUUUVUWUXUYUZUaUbUcUdUeUf"
	"UgUhUiUjUkUlUmUnUoUpUqUrUsUtUuUvUwUxUyUzU0U1U2U3U4U5U6U7U8U9U+U/"
	"VAVBVCVDVEVFVGVHVIVJVKVLVMVNVOVPVQVRVSVTVUVVVWVXVYVZVaVbVcVdVeVf"
	"VgVhViVjVkVlVmVnVoVpVqVrVsVtVuVvVwVxVyVzV0V1V2V3V4V5V6V7V8V9V+V/"
	"WAWBWCWDWEWFWGWHWIWJWKWLWMWNWOWPWQWRWSWTWUWVWWWXWYWZWaWbWcWdWeWf"
	"WgWhWiWjWkWlWmWnWoWpWqWrWsWtWuWvWwWxWyWzW0W1W2W3W4W5W6W7W8W9W+W/"
	"XAXBXCXDXEXFXGXHXIXJXKXLXMXNXOXPXQXRXSXTXUXVXWXXXYXZXaXbXcXdXeXf"
	"XgXhXiXjXkXlXmXnXoXpXqXrXsXtXuXvXwXxXyXzX0X1X2X3X4X5X6X7X8X9X+X/"
	"YAYBYCYDYEYFYGYHYIYJYKYLYMYNYOYPYQYRYSYTYUYVYWYXYYYZYaYbYcYdYeYf"
	"YgYhYiYjYkYlYmYnYoYpYqYrYsYtYuYvYwYxYyYzY0Y1Y2Y3Y4Y5Y6Y7Y8Y9Y+Y/"
	"ZAZBZCZDZEZFZGZHZIZJZKZLZMZNZOZPZQZRZSZTZUZVZWZXZYZZZaZbZcZdZeZf"
	"ZgZhZiZjZkZlZmZnZoZpZqZrZsZtZuZvZwZxZyZzZ0Z1Z2Z3Z4Z5Z6Z7Z8Z9Z+Z/"
	"aAaBaCaDaEaFaGaHaIaJaKaLaMaNaOaPaQaRaSaTaUaVaWaXaYaZaaabacadaeaf"
	"agahaiajakalamanaoapaqarasatauavawaxayaza0a1a2a3a4a5a6a7a8a9a+a/"
	"bAbBbCbDbEbFbGbHbIbJbKbLbMbNbObPbQbRbSbTbUbVbWbXbYbZbabbbcbdbebf"
	"bgbhbibjbkblbmbnbobpbqbrbsbtbubvbwbxbybzb0b1b2b3b4b5b6b7b8b9b+b/"
	"cAcBcCcDcEcFcGcHcIcJcKcLcMcNcOcPcQcRcScTcUcVcWcXcYcZcacbcccdcecf"
	"cgchcicjckclcmcncocpcqcrcsctcucvcwcxcyczc0c1c2c3c4c5c6c7c8c9c+c/"
	"dAdBdCdDdEdFdGdHdIdJdKdLdMdNdOdPdQdRdSdTdUdVdWdXdYdZdadbdcdddedf"
	"dgdhdidjdkdldmdndodpdqdrdsdtdudvdwdxdydzd0d1d2d3d4d5d6d7d8d9d+d/"
	"eAeBeCeDeEeFeGeHeIeJeKeLeMeNeOePeQeReSeTeUeVeWeXeYeZeaebecedeeef"
	"egeheiejekelemeneoepeqereseteuevewexeyeze0e1e2e3e4e5e6e7e8e9e+e/"
	"fAfBfCfDfEfFfGfHfIfJfKfLfMfNfOfPfQfRfSfTfUfVfWfXfYfZfafbfcfdfeff"
	"fgfhfifjfkflfmfnfofpfqfrfsftfufvfwfxfyfzf0f1f2f3f4f5f6f7f8f9f+f/"
	"gAgBgCgDgEgFgGgHgIgJgKgLgMgNgOgPgQgRgSgTgUgVgWgXgYgZgagbgcgdgegf"
	"ggghgigjgkglgmgngogpgqgrgsgtgugvgwgxgygzg0g1g2g3g4g5g6g7g8g9g+g/"
	"hAhBhChDhEhFhGhHhIhJhKhLhMhNhOhPhQhRhShThUhVhWhXhYhZhahbhchdhehf"
	"hghhhihjhkhlhmhnhohphqhrhshthuhvhwhxhyhzh0h1h2h3h4h5h6h7h8h9h+h/"
	"iAiBiCiDiEiFiGiHiIiJiKiLiMiNiOiPiQiRiSiTiUiViWiXiYiZiaibicidieif"
	"igihiiijikiliminioipiqirisitiuiviwixiyizi0i1i2i3i4i5i6i7i8i9i+i/"
	"jAjBjCjDjEjFjGjHjIjJjKjLjMjNjOjPjQjRjSjTjUjVjWjXjYjZjajbjcjdjejf"
	"jgjhjijjjkjljmjnjojpjqjrjsjtjujvjwjxjyjzj0j1j2j3j4j5j6j7j8j9j+j/"
	"kAkBkCkDkEkFkGkHkIkJkKkLkMkNkOkPkQkRkSkTkUkVkWkXkYkZkakbkckdkekf"
	"kgkhkikjkkklkmknkokpkqkrksktkukvkwkxkykzk0k1k2k3k4k5k6k7k8k9k+k/"
	"lAlBlClDlElFlGlHlIlJlKlLlMlNlOlPlQlRlSlTlUlVlWlXlYlZlalblcldlelf"
	"lglhliljlklllmlnlolplqlrlsltlulvlwlxlylzl0l1l2l3l4l5l6l7l8l9l+l/"
	"mAmBmCmDmEmFmGmHmImJmKmLmMmNmOmPmQmRmSmTmUmVmWmXmYmZmambmcmdmemf"
	"mgmhmimjmkmlmmmnmompmqmrmsmtmumvmwmxmymzm0m1m2m3m4m5m6m7m8m9m+m/"
	"nAnBnCnDnEnFnGnHnInJnKnLnMnNnOnPnQnRnSnTnUnVnWnXnYnZnanbncndnenf"
	"ngnhninjnknlnmnnnonpnqnrnsntnunvnwnxnynzn0n1n2n3n4n5n6n7n8n9n+n/"
	"oAoBoCoDoEoFoGoHoIoJoKoLoMoNoOoPoQoRoSoToUoVoWoXoYoZoaobocodoeof"
	"ogohoiojokolomonooopoqorosotouovowoxoyozo0o1o2o3o4o5o6o7o8o9o+o/"
	"pApBpCpDpEpFpGpHpIpJpKpLpMpNpOpPpQpRpSpTpUpVpWpXpYpZpapbpcpdpepf"
	"pgphpipjpkplpmpnpopppqprpsptpupvpwpxpypzp0p1p2p3p4p5p6p7p8p9p+p/"
	"qAqBqCqDqEqFqGqHqIqJqKqLqMqNqOqPqQqRqSqTqUqVqWqXqYqZqaqbqcqdqeqf"
	"qgqhqiqjqkqlqmqnqoqpqqqrqsqtquqvqwqxqyqzq0q1q2q3q4q5q6q7q8q9q+q/"
	"rArBrCrDrErFrGrHrIrJrKrLrMrNrOrPrQrRrSrTrUrVrWrXrYrZrarbrcrdrerf"
	"rgrhrirjrkrlrmrnrorprqrrrsrtrurvrwrxryrzr0r1r2r3r4r5r6r7r8r9r+r/"
	"sAsBsCsDsEsFsGsHsIsJsKsLsMsNsOsPsQsRsSsTsUsVsWsXsYsZsasbscsdsesf"
	"sgshsisjskslsmsnsospsqsrssstsusvswsxsyszs0s1s2s3s4s5s6s7s8s9s+s/"
	"tAtBtCtDtEtFtGtHtItJtKtLtMtNtOtPtQtRtStTtUtVtWtXtYtZtatbtctdtetf"
	"tgthtitjtktltmtntotptqtrtstttutvtwtxtytzt0t1t2t3t4t5t6t7t8t9t+t/"
	"uAuBuCuDuEuFuGuHuIuJuKuLuMuNuOuPuQuRuSuTuUuVuWuXuYuZuaubucudueuf"
	"uguhuiujukulumunuoupuqurusutuuuvuwuxuyuzu0u1u2u3u4u5u6u7u8u9u+u/"
	"vAvBvCvDvEvFvGvHvIvJvKvLvMvNvOvPvQvRvSvTvUvVvWvXvYvZvavbvcvdvevf"
	"vgvhvivjvkvlvmvnvovpvqvrvsvtvuvvvwvxvyvzv0v1v2v3v4v5v6v7v8v9v+v/"
	"wAwBwCwDwEwFwGwHwIwJwKwLwMwNwOwPwQwRwSwTwUwVwWwXwYwZwawbwcwdwewf"
	"wgwhwiwjwkwlwmwnwowpwqwrwswtwuwvwwwxwywzw0w1w2w3w4w5w6w7w8w9w+w/"
	"xAxBxCxDxExFxGxHxIxJxKxLxMxNxOxPxQxRxSxTxUxVxWxXxYxZxaxbxcxdxexf"
	"xgxhxixjxkxlxmxnxoxpxqxrxsxtxuxvxwxxxyxzx0x1x2x3x4x5x6x7x8x9x+x/"
	"yAyByCyDyEyFyGyHyIyJyKyLyMyNyOyPyQyRySyTyUyVyWyXyYyZyaybycydyeyf"
	"ygyhyiyjykylymynyoypyqyrysytyuyvywyxyyyzy0y1y2y3y4y5y6y7y8y9y+y/"
	"zAzBzCzDzEzFzGzHzIzJzKzLzMzNzOzPzQzRzSzTzUzVzWzXzYzZzazbzczdzezf"
	"zgzhzizjzkzlzmznzozpzqzrzsztzuzvzwzxzyzzz0z1z2z3z4z5z6z7z8z9z+z/"
	"0A0B0C0D0E0F0G0H0I0J0K0L0M0N0O0P0Q0R0S0T0U0V0W0X0Y0Z0a0b0c0d0e0f"
	"0g0h0i0j0k0l0m0n0o0p0q0r0s0t0u0v0w0x0y0z000102030405060708090+0/"
	"1A1B1C1D1E1F1G1H1I1J1K1L1M1N1O1P1Q1R1S1T1U1V1W1X1Y1Z1a1b1c1d1e1f"
	"1g1h1i1j1k1l1m1n1o1p1q1r1s1t1u1v1w1x1y1z101112131415161718191+1/"
	"2A2B2C2D2E2F2G2H2I2J2K2L2M2N2O2P2Q2R2S2T2U2V2W2X2Y2Z2a2b2c2d2e2f"
	"2g2h2i2j2k2l2m2n2o2p2q2r2s2t2u2v2w2x2y2z202122232425262728292+2/"
	"3A3B3C3D3E3F3G3H3I3J3K3L3M3N3O3P3Q3R3S3T3U3V3W3X3Y3Z3a3b3c3d3e3f"
	"3g3h3i3j3k3l3m3n3o3p3q3r3s3t3u3v3w3x3y3z303132333435363738393+3/"
	"4A4B4C4D4E4F4G4H4I4J4K4L4M4N4O4P4Q4R4S4T4U4V4W4X4Y4Z4a4b4c4d4e4f"
	"4g4h4i4j4k4l4m4n4o4p4q4r4s4t4u4v4w4x4y4z404142434445464748494+4/"
	"5A5B5C5D5E5F5G5H5I5J5K5L5M5N5O5P5Q5R5S5T5U5V5W5X5Y5Z5a5b5c5d5e5f"
	"5g5h5i5j5k5l5m5n5o5p5q5r5s5t5u5v5w5x5y5z505152535455565758595+5/"
	"6A6B6C6D6E6F6G6H6I6J6K6L6M6N6O6P6Q6R6S6T6U6V6W6X6Y6Z6a6b6c6d6e6f"
	"6g6h6i6j6k6l6m6n6o6p6q6r6s6t6u6v6w6x6y6z606162636465666768696+6/"
	"7A7B7C7D7E7F7G7H7I7J7K7L7M7N7O7P7Q7R7S7T7U7V7W7X7Y7Z7a7b7c7d7e7f"
	"7g7h7i7j7k7l7m7n7o7p7q7r7s7t7u7v7w7x7y7z707172737475767778797+7/"
	"8A8B8C8D8E8F8G8H8I8J8K8L8M8N8O8P8Q8R8S8T8U8V8W8X8Y8Z8a8b8c8d8e8f"
	"8g8h8i8j8k8l8m8n8o8p8q8r8s8t8u8v8w8x8y8z808182838485868788898+8/"
	"9A9B9C9D9E9F9G9H9I9J9K9L9M9N9O9P9Q9R9S9T9U9V9W9X9Y9Z9a9b9c9d9e9f"
	"9g9h9i9j9k9l9m9n9o9p9q9r9s9t9u9v9w9x9y9z909192939495969798999+9/"
	"+A+B+C+D+E+F+G+H+I+J+K+L+M+N+O+P+Q+R+S+T+U+V+W+X+Y+Z+a+b+c+d+e+f"
	"+g+h+i+j+k+l+m+n+o+p+q+r+s+t+u+v+w+x+y+z+0+1+2+3+4+5+6+7+8+9+++/"
	"/A/B/C/D/E/F/G/H/I/J/K/L/M/N/O/P/Q/R/S/T/U/V/W/X/Y/Z/a/b/c/d/e/f"
	"/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w/x/y/z/0/1/2/3/4/5/6/7/8/9/+//";

static inline void enc3(const unsigned char *s, char *d)
{
	unsigned v = (unsigned)s[0] << 16 | (unsigned)s[1] << 8 | s[2];

	memcpy(d, pairs + 2 * (v >> 12), 2);
	memcpy(d + 2, pairs + 2 * (v & 0xfff), 2);
}

static size_t put_eol(const struct b64_enc *e, char *d)
{
	if (e->crlf) {
		d[0] = '\r';
		d[1] = '\n';
		return 2;
	}
	d[0] = '\n';
	return 1;
}

/* Emit one character, wrapping when the line is full (slow path). */
static size_t put_char(struct b64_enc *e, char c, char *d)
{
	size_t k = 0;

	if (e->wrap && e->col == e->wrap) {
		k = put_eol(e, d);
		e->col = 0;
	}
	d[k++] = c;
	e->col++;
	return k;
}

static size_t put_group(struct b64_enc *e, const unsigned char *s, char *d)
{
	char g[4];
	size_t k = 0;

	enc3(s, g);
	for (int i = 0; i < 4; i++)
		k += put_char(e, g[i], d + k);
	return k;
}

size_t b64_enc_update(struct b64_enc *e, const void *in, size_t n, char *out)
{
	const unsigned char *s = in;
	char *d = out;

	if (e->nhold > 0) {
		while (e->nhold < 3 && n > 0) {
			e->hold[e->nhold++] = *s++;
			n--;
		}
		if (e->nhold < 3)
			return 0;
		d += put_group(e, e->hold, d);
		e->nhold = 0;
	}

	if (e->wrap % 4 == 0) {
		/* Fast path: whole groups up to the end of each line. */
		while (n >= 3) {
			size_t groups = n / 3;

			if (e->wrap) {
				if (e->col == e->wrap) {
					d += put_eol(e, d);
					e->col = 0;
				}
				if (groups > (e->wrap - e->col) / 4)
					groups = (e->wrap - e->col) / 4;
				e->col += groups * 4;
			}
			for (size_t i = 0; i < groups; i++, s += 3, d += 4)
				enc3(s, d);
			n -= groups * 3;
		}
	} else {
		for (; n >= 3; s += 3, n -= 3)
			d += put_group(e, s, d);
	}
	memcpy(e->hold, s, n);
	e->nhold = n;
	return (size_t)(d - out);
}

size_t b64_enc_final(struct b64_enc *e, char *out)
{
	size_t k = 0;

	if (e->nhold) {
		unsigned char t[3] = { 0, 0, 0 };
		char g[4];

		memcpy(t, e->hold, e->nhold);
		enc3(t, g);
		if (e->nhold == 1)
			g[2] = '=';
		g[3] = '=';
		for (int i = 0; i < 4; i++)
			k += put_char(e, g[i], out + k);
		e->nhold = 0;
	}
	if (e->wrap && e->col > 0)
		k += put_eol(e, out + k);
	e->col = 0;
	return k;
}

void b64_dec_init(struct b64_dec *d, int lenient)
{
	memset(d, 0, sizeof *d);
	d->lenient = lenient;
}

static ssize_t dec_fail(struct b64_dec *d, const char *why, unsigned long long off)
{
	d->err = why;
	d->erroff = off;
	return -1;
}

/* One character through the state machine; return bytes written to o. */
static ssize_t dec_slow(struct b64_dec *d, unsigned char c, unsigned char *o)
{
	unsigned v = dtab[c];
	unsigned long long at = d->off;

	if (v == D_EOL)
		return 0;
	if (v == D_BAD)
		return d->lenient ? 0 : dec_fail(d, "invalid character", at);
	if (v == D_PAD) {
		if (d->n < 2)
			return d->lenient ? 0 : dec_fail(d, "misplaced padding", at);
		d->pad++;
		if (d->n + d->pad == 4) {
			ssize_t k = d->n - 1;  /* 2 chars -> 1 byte, 3 -> 2 */

			o[0] = (unsigned char)(d->acc >> (d->n == 2 ? 4 : 10));
			if (k == 2)
				o[1] = (unsigned char)(d->acc >> 2);
			d->n = d->pad = 0;
			d->acc = 0;
			return k;      /* a new quantum may follow: "YQ==YQ==" is "aa" */
		}
		return 0;
	}
	if (d->pad)
		return d->lenient ? 0 : dec_fail(d, "data after padding", at);
	d->acc = (d->acc << 6) | v;
	if (++d->n < 4)
		return 0;
	o[0] = (unsigned char)(d->acc >> 16);
	o[1] = (unsigned char)(d->acc >> 8);
	o[2] = (unsigned char)d->acc;
	d->n = 0;
	d->acc = 0;
	return 3;
}

/* The bytes a partial quantum of 2 or 3 characters stands for; the
 * quantum is then empty. */
static ssize_t dec_partial(struct b64_dec *d, unsigned char *o)
{
	ssize_t k = 0;

	if (d->n >= 2) {
		o[k++] = (unsigned char)(d->acc >> (d->n == 2 ? 4 : 10));
		if (d->n == 3)
			o[k++] = (unsigned char)(d->acc >> 2);
	}
	d->n = d->pad = 0;
	d->acc = 0;
	return k;
}

ssize_t b64_dec_update(struct b64_dec *d, const char *in, size_t n, unsigned char *out)
{
	const unsigned char *s = (const unsigned char *)in, *end = s + n;
	unsigned char *o = out;

	while (s < end) {
		/* Fast path: aligned quantum of four alphabet characters. */
		if (d->n == 0) {
			while (end - s >= 4) {
				unsigned a = dtab[s[0]], b = dtab[s[1]], c = dtab[s[2]], e = dtab[s[3]];

				if ((a | b | c | e) & 0xc0)
					break;
				unsigned long v = (unsigned long)a << 18 | b << 12 | c << 6 | e;
				o[0] = (unsigned char)(v >> 16);
				o[1] = (unsigned char)(v >> 8);
				o[2] = (unsigned char)v;
				o += 3;
				s += 4;
				d->off += 4;
			}
			if (s == end)
				break;
		}
		ssize_t k = dec_slow(d, *s, o);
		if (k < 0) {
			d->errout = (size_t)(o - out) + (size_t)dec_partial(d, o);
			return -1;
		}
		o += k;
		s++;
		d->off++;
	}
	return o - out;
}

ssize_t b64_dec_final(struct b64_dec *d, unsigned char *out)
{
	if (d->n == 0)
		return 0;
	if (!d->lenient) {
		d->errout = (size_t)dec_partial(d, out);
		return dec_fail(d, "truncated input", d->off);
	}
	return dec_partial(d, out);     /* missing padding: decode what is there */
}

size_t b64_encode(const void *in, size_t n, char *out)
{
	struct b64_enc e;
	size_t k;

	b64_enc_init(&e, 0, 0);
	k = b64_enc_update(&e, in, n, out);
	k += b64_enc_final(&e, out + k);
	out[k] = '\0';
	return k;
}

ssize_t b64_decode(const char *in, size_t n, unsigned char *out)
{
	struct b64_dec d;
	ssize_t k, f;

	if (memchr(in, '\r', n) || memchr(in, '\n', n))
		return -1;
	b64_dec_init(&d, 0);
	k = b64_dec_update(&d, in, n, out);
	if (k < 0)
		return -1;
	f = b64_dec_final(&d, out + k);
	if (f < 0)
		return -1;
	out[k + f] = '\0';
	return k + f;
}
