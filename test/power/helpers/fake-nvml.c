/*
 * A stand-in for libnvidia-ml.so.1 where no NVIDIA GPU is present, compiled by the tests with the
 * system's cc. It exports the NVML symbols owbench calls, with NVML's signatures and return codes
 * (nvml.h: 0 success, 3 NOT_SUPPORTED, 9 DRIVER_NOT_LOADED, 1 UNINITIALIZED, 2 INVALID_ARGUMENT)
 * and NVML's error strings for them. Two GPUs: 0 is a Pascal card without the energy counter
 * (NOT_SUPPORTED, as NVML answers before Volta); 1 an H100 whose counter (mJ) advances at
 * FAKE_NVML_WATTS (default 300) on the monotonic clock, from a value as large as a running
 * driver's. FAKE_NVML_INIT=9 makes nvmlInit_v2 fail as without a loaded driver.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct { int index; } device_t;
static device_t devices[2] = {{0}, {1}};
static int initialized = 0;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

const char *nvmlErrorString(int result) {
  switch (result) {
    case 0: return "Success";
    case 1: return "Uninitialized";
    case 2: return "Invalid Argument";
    case 3: return "Not Supported";
    case 9: return "Driver Not Loaded";
    default: return "Unknown Error";
  }
}

int nvmlInit_v2(void) {
  const char *fail = getenv("FAKE_NVML_INIT");
  if (fail && atoi(fail) != 0) return atoi(fail);
  initialized = 1;
  return 0;
}

int nvmlShutdown(void) {
  if (!initialized) return 1;
  initialized = 0;
  return 0;
}

int nvmlDeviceGetCount_v2(unsigned int *count) {
  if (!initialized) return 1;
  if (!count) return 2;
  *count = 2;
  return 0;
}

int nvmlDeviceGetHandleByIndex_v2(unsigned int index, device_t **device) {
  if (!initialized) return 1;
  if (index > 1 || !device) return 2;
  *device = &devices[index];
  return 0;
}

int nvmlDeviceGetName(device_t *device, char *name, unsigned int length) {
  if (!initialized) return 1;
  if (!device || !name) return 2;
  const char *n = device->index == 0 ? "Tesla P100-PCIE-16GB" : "NVIDIA H100 80GB HBM3";
  if (strlen(n) + 1 > length) return 7;
  strcpy(name, n);
  return 0;
}

int nvmlDeviceGetTotalEnergyConsumption(device_t *device, unsigned long long *energy) {
  if (!initialized) return 1;
  if (!device || !energy) return 2;
  if (device->index == 0) return 3;
  const char *w = getenv("FAKE_NVML_WATTS");
  double watts = w ? atof(w) : 300.0;
  /* W x ms = mJ, on top of 123456789012 mJ already counted since the driver loaded. */
  *energy = 123456789012ULL + (unsigned long long)(watts * now_ms());
  return 0;
}

int nvmlDeviceGetClockInfo(device_t *device, int type, unsigned int *clock) {
  if (!initialized) return 1;
  if (!device || !clock) return 2;
  *clock = type == 1 ? 1755 : type == 2 ? 2619 : 1755;
  return 0;
}

int nvmlDeviceGetTemperature(device_t *device, int sensor, unsigned int *temp) {
  if (!initialized) return 1;
  if (!device || !temp || sensor != 0) return 2;
  *temp = device->index == 0 ? 41 : 83;
  return 0;
}

int nvmlDeviceGetCurrentClocksEventReasons(device_t *device, unsigned long long *reasons) {
  if (!initialized) return 1;
  if (!device || !reasons) return 2;
  /* GPU 1: software power cap and hardware thermal slowdown. */
  *reasons = device->index == 0 ? 0x1ULL : (0x4ULL | 0x40ULL);
  return 0;
}
