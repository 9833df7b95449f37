// Azure AI Speech, reachable only with Entra ID tokens. A custom subdomain is what makes
// token auth possible at all: the regional endpoint accepts keys only, so without it
// `disableLocalAuth: true` would lock the app out.

@description('Account name; also the custom subdomain, so it must be globally unique.')
@minLength(2)
@maxLength(64)
param name string
param location string
param tags object

@description('S0: pay per audio hour, 100 concurrent sessions by default. F0: free, one session at a time.')
@allowed([
  'S0'
  'F0'
])
param sku string

resource speech 'Microsoft.CognitiveServices/accounts@2024-10-01' = {
  name: name
  location: location
  tags: tags
  kind: 'SpeechServices'
  // Batch transcription reads each recording by its plain blob URL as a trusted Azure service, with this
  // identity (rbac.bicep grants it Storage Blob Data Reader): no SAS, no key. A user-assigned identity does
  // not qualify for that.
  identity: {
    type: 'SystemAssigned'
  }
  sku: {
    // F0 has no per-hour cost but allows one per subscription and a single concurrent session:
    // main.bicep sizes the app down to it (speechConcurrentSessions).
    name: sku
  }
  properties: {
    customSubDomainName: name
    disableLocalAuth: true
    // The Flex app has no VNet here, so it calls Speech over the public endpoint.
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
    }
  }
}

output id string = speech.id
output name string = speech.name
output principalId string = speech.identity.principalId
// With a custom subdomain ARM reports https://<name>.cognitiveservices.azure.com/ here
// (the right suffix in sovereign clouds too), which is the host Entra tokens are valid for.
output endpoint string = speech.properties.endpoint
