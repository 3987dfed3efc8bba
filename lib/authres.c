/* authres.c — result keywords (see authres.h). */
#include "authres.h"

const char *ar_name(enum ar_result r)
{
	static const char *const names[] = {
		[AR_NONE] = "none", [AR_PASS] = "pass", [AR_FAIL] = "fail",
		[AR_SOFTFAIL] = "softfail", [AR_NEUTRAL] = "neutral", [AR_POLICY] = "policy",
		[AR_TEMPERROR] = "temperror", [AR_PERMERROR] = "permerror",
	};

	if ((unsigned)r < sizeof names / sizeof names[0] && names[r])
		return names[r];
	return "none";
}
