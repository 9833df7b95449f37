// The one identity the function app runs as. User-assigned (not system-assigned) so its
// client ID exists before the app does: the app settings, the deployment-storage
// authentication and the role assignments all need it at creation time.

param name string
param location string
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
