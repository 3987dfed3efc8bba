/* split.h — for harnesses whose input holds several texts: up to n parts
 * separated by NUL bytes, the last part taking the rest (NULs included);
 * parts the input does not reach are empty. */
#ifndef MAILLAB_FUZZ_SPLIT_H
#define MAILLAB_FUZZ_SPLIT_H

#include <stdint.h>
#include <string.h>

static void fuzz_split(const uint8_t *data, size_t size, const uint8_t **part, size_t *len, int n)
{
	for (int i = 0; i < n; i++) {
		part[i] = i == 0 ? data : data + size;
		len[i] = i == 0 ? size : 0;
	}
	for (int i = 1; i < n; i++) {
		const uint8_t *z = memchr(part[i - 1], '\0', len[i - 1]);

		if (z == NULL)
			break;
		len[i - 1] = (size_t)(z - part[i - 1]);
		part[i] = z + 1;
		len[i] = (size_t)(data + size - part[i]);
	}
}

#endif
