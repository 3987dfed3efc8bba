/* maildeliver.h — the MDA's delivery core lives in lib/deliver.[ch], shared
 * with smtpd's in-process delivery. */
#ifndef MAILDELIVER_H
#define MAILDELIVER_H

#include "deliver.h"

#endif
