/*
 * libSSCardDriver.so — the national reader interface (LD/T 6001.5, 社会保障卡读写终端接口) of
 * SSCard Lab. Every function forwards to the SSCard Lab reader service (`sscard driver serve`)
 * at $SSCARD_DRIVER_URL (default http://127.0.0.1:12342) and returns 0 on success or the
 * negative error code of the interface (-11 读卡器连接错误 when no service answers).
 *
 * Output strings are text fields each followed by '|', in GBK by default
 * ($SSCARD_DRIVER_CHARSET=UTF-8 for UTF-8); string inputs are read in the same charset.
 * Pass output buffers of at least 1,024 bytes ($SSCARD_DRIVER_OUTBUF_SIZE for larger ones).
 * See docs/reader-interface.md.
 */
#ifndef SSCARD_DRIVER_H
#define SSCARD_DRIVER_H

#ifdef __cplusplus
extern "C" {
#endif

long iReadCardBas(int iType, char *pOutInfo);
long iReadCardBas_HSM_Step1(int iType, char *pOutInfo);
long iReadCardBas_HSM_Step2(char *pKey, char *pOutInfo);

long iReadCard(int iType, int iAuthType, char *pCardInfo, char *pFileAddr, char *pOutInfo);
long iReadCard_HSM_Step1(int iType, char *pCardInfo, char *pFileAddr, char *pOutInfo);
long iReadCard_HSM_Step2(char *pKey, char *pOutInfo);

long iWriteCard(int iType, char *pCardInfo, char *pFileAddr, char *pWriteData, char *pOutInfo);
long iWriteCard_HSM_Step1(int iType, char *pCardInfo, char *pFileAddr, char *pOutInfo);
long iWriteCard_HSM_Step2(char *pKey, char *pWriteData, char *pOutInfo);

long iVerifyPIN(int iType, char *pOutInfo);
long iChangePIN(int iType, char *pOutInfo);

long iReloadPIN(int iType, char *pCardInfo, char *pOutInfo);
long iReloadPIN_HSM_Step1(int iType, char *pCardInfo, char *pOutInfo);
long iReloadPIN_HSM_Step2(char *pKey, char *pOutInfo);
long iReloadPIN_HSM_Step3(char *pKey, char *pOutInfo);

long iUnblockPIN(int iType, char *pCardInfo, char *pOutInfo);
long iUnblockPIN_HSM_Step1(int iType, char *pCardInfo, char *pOutInfo);
long iUnblockPIN_HSM_Step2(char *pKey, char *pOutInfo);
long iUnblockPIN_HSM_Step3(char *pKey, char *pOutInfo);

long iDoDebit(int iType, char *pCardInfo, char *pPayInfo, char *pOutInfo);
long iDoDebit_HSM_Step1(int iType, char *pCardInfo, char *pPayInfo, char *pOutInfo);
long iDoDebit_HSM_Step2(char *pKey, char *pOutInfo);

long iReadDebitRecord(int iType, char *pOutInfo);

long iGetCardType(unsigned char *pCardType, char *pOutInfo);
long iGetReaderInfo(char *pReaderSN, char *pPsamTermNo);

#ifdef __cplusplus
}
#endif

#endif
